"""Issue 13 item 3: no accidental home-wide or system-wide server, and dot-folders (.ssh, .gnupg, .aws,
.config, ...) are never served unless a root names them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from ftds.server.app import create_server
from ftds.server.paths import UnsafeDefaultRoot, allowed_roots
from ftds.tools.config import load_settings

FTDS_AGENT = str(Path(sys.executable).with_name("ftds-agent"))
RECORDS = json.dumps([{"instruction": "PRIVATE-MARKER", "input": "", "output": "a"}])


def _home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "keys.json").write_text(RECORDS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FTDS_")}
    env["HOME"] = str(home)
    return home, env


@pytest.mark.parametrize("where", ["home", "root"])
def test_serve_without_root_refuses_to_start_in_the_home_folder_or_at_slash(tmp_path: Path, where: str) -> None:
    home, env = _home(tmp_path)
    cwd = str(home) if where == "home" else "/"
    done = subprocess.run(
        [FTDS_AGENT, "serve"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 2, done.stderr
    assert "--root" in done.stderr and "refusing" in done.stderr
    assert "Traceback" not in done.stderr


async def test_an_explicit_home_root_starts_over_stdio_but_still_hides_dot_folders(tmp_path: Path) -> None:
    home, env = _home(tmp_path)
    (home / "notes.json").write_text(RECORDS.replace("PRIVATE", "PUBLIC"), encoding="utf-8")
    params = StdioServerParameters(command=FTDS_AGENT, args=["serve", "--root", "~"], env=env, cwd=str(home))
    async with Client(params) as client:
        hidden = await client.call_tool("validate_dataset", {"input_path": ".ssh/keys.json"})
        by_path = await client.call_tool("validate_dataset", {"input_path": str(home / ".ssh" / "keys.json")})
        visible = await client.call_tool("validate_dataset", {"input_path": "notes.json"})
    assert hidden.is_error and by_path.is_error
    assert ".ssh" in hidden.content[0].text and "hidden" in hidden.content[0].text
    assert not visible.is_error and visible.structured_content["total"] == 1


def test_the_default_root_is_the_working_directory_elsewhere_and_refused_above_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = _home(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    project = home / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    assert allowed_roots([]) == [project.resolve()]
    for cwd in (home, tmp_path, Path("/")):
        monkeypatch.chdir(cwd)
        with pytest.raises(UnsafeDefaultRoot, match="--root"):
            allowed_roots([])
    assert allowed_roots([home]) == [home.resolve()]  # named on purpose


async def test_dot_folders_inside_a_root_are_refused_unless_a_root_names_them(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for hidden in (".ssh", ".gnupg", ".aws", ".config/app"):
        (root / hidden).mkdir(parents=True)
        (root / hidden / "data.json").write_text(RECORDS, encoding="utf-8")
    (root / "link.json").symlink_to(root / ".aws" / "data.json")
    async with Client(create_server(load_settings(server={"roots": [str(root)]}))) as client:
        results = {
            name: await client.call_tool("validate_dataset", {"input_path": name})
            for name in (".ssh/data.json", ".gnupg/data.json", ".aws/data.json", ".config/app/data.json", "link.json")
        }
        listed = await client.call_tool("load_literature", {"paths": [".ssh"]})
        written = await client.call_tool(
            "convert_format", {"input_path": "link.json", "to": "openai", "out_path": ".config/out.jsonl"}
        )
    for name, result in results.items():
        assert result.is_error and "hidden" in result.content[0].text, name
    assert listed.is_error and written.is_error
    assert not (root / ".config" / "out.jsonl").exists()
    named = root / ".config" / "app"
    async with Client(create_server(load_settings(server={"roots": [str(named)]}))) as client:
        allowed = await client.call_tool("validate_dataset", {"input_path": "data.json"})
    assert not allowed.is_error and allowed.structured_content["total"] == 1
