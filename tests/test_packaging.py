"""The wheel installs ftds under one namespace and ships its prompts; nothing generic lands in site-packages."""

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _build_wheel(out: Path) -> Path:
    """The repository built into a wheel in ``out``, as a release would build it."""
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("ftds_agent-*.whl"))


def test_wheel_maps_top_level_folders_under_the_ftds_namespace(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"ftds", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    for required in (
        "ftds/tools/records.py",
        "ftds/agents/cli.py",
        "ftds/server/app.py",
        "ftds/prompts/qa_generate.zh.md",
        "ftds/prompts/domains.yaml",
        "ftds/server/studio/static/index.html",
        "ftds/server/studio/static/studio.js",
        "ftds/server/studio/static/review-app.html",
        "ftds/tools/studio/store.py",
    ):
        assert required in names, required
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "ftds-agent = ftds.agents.launcher:main" in entry_points


def test_built_wheel_installs_and_runs_outside_the_repository(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    # dependencies come from the test environment's site-packages; ftds itself only from the wheel
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (site / "_deps.pth").write_text("\n".join(deps) + "\n")
    zipfile.ZipFile(wheel).extractall(site)
    python = venv / "bin" / "python"
    probe = (
        "import ftds.tools.records as r, ftds.server.app, ftds.agents.cli;"
        "from ftds.tools.generation.prompts import load_template;"
        "print(r.__file__); print(load_template('qa_generate', 'zh').version)"
    )
    out = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True, timeout=120
    ).stdout.splitlines()
    assert out[0].startswith(str(site)), out
    assert out[1].startswith("qa_generate.zh@")
    help_text = subprocess.run(
        [str(python), "-m", "ftds.agents.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        timeout=120,
    ).stdout
    assert "build" in help_text and "serve" in help_text
    serve_help = subprocess.run(
        [str(python), "-m", "ftds.server", "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert serve_help.returncode == 0 and "--transport" in serve_help.stdout


def test_every_package_folder_is_listed_in_pyproject() -> None:
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    mapping = {"tools": "ftds.tools", "agents": "ftds.agents", "server": "ftds.server", "prompts": "ftds.prompts"}
    for folder, package in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder)
            dotted = ".".join([package, *relative.parts]) if relative.parts else package
            assert dotted in listed, f"{dotted} is missing from [tool.setuptools] packages"
