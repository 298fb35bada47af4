"""The studio and evaluation tools' path arguments (listed in test_mcp_symlink_trees.PATH_ARGUMENTS) go through
the server's confinement like every other tool's: a path outside the roots, or a link inside them that leads
out, is refused with the reason before any work, and nothing outside is read or written."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mcp import Client

from ftds.server.app import create_server
from ftds.tools.config import load_settings
from tests.conftest import fake_llm_overrides
from tests.fakes.fake_openai_server import FakeOpenAIServer

MARKER = "OUTSIDE-MARKER-c41e"
LAW = "第一条 为了规范数据处理活动，保障数据安全，促进数据开发利用，制定本法。\n"


def _tree(base: Path) -> tuple[Path, Path]:
    root, outside = base / "root", base / "outside"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "law.md").write_text(LAW * 3, encoding="utf-8")
    outside.mkdir()
    (outside / "law.md").write_text(f"{MARKER} {LAW}", encoding="utf-8")
    (outside / "data.jsonl").write_text(
        json.dumps({"instruction": "问题", "input": "", "output": MARKER}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (outside / "labels.yaml").write_text(f"{MARKER}:\n  - 子类\n", encoding="utf-8")
    (root / "link").symlink_to(outside)  # a folder inside the root that leads out of it
    return root, outside


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            content = path.read_bytes() if path.is_file() else b""
            found[str(path.relative_to(folder))] = (path.lstat().st_mtime_ns, content)
    return found


def _calls(outside: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(tool, the argument under test, arguments): one call per path argument and way out."""
    calls: list[tuple[str, str, dict[str, Any]]] = []
    for way_out in (str(outside), "link", "../outside"):
        data = f"{way_out}/data.jsonl"
        calls += [
            ("studio_import", "path", {"path": data}),
            ("studio_import", "path", {"path": way_out}),
            ("studio_import", "workspace", {"path": "docs", "workspace": f"{way_out}/ws"}),
            ("studio_list_datasets", "workspace", {"workspace": way_out}),
            (
                "studio_edit_labels",
                "taxonomy_file",
                {"dataset": "law", "action": "import", "reviewer": "ann", "taxonomy_file": f"{way_out}/labels.yaml"},
            ),
            ("studio_export", "out_dir", {"dataset": "law", "out_dir": f"{way_out}/export"}),
            ("build_eval_set", "paths", {"paths": [f"{way_out}/law.md"], "out_dir": "set"}),
            ("build_eval_set", "training", {"paths": ["docs"], "training": [data], "out_dir": "set"}),
            ("build_eval_set", "out_dir", {"paths": ["docs"], "out_dir": f"{way_out}/set"}),
            ("run_eval", "set_dir", {"set_dir": way_out, "model": "m", "out_dir": "report"}),
            ("run_eval", "out_dir", {"set_dir": "set", "model": "m", "out_dir": f"{way_out}/report"}),
        ]
    return calls


async def test_studio_and_eval_path_arguments_outside_the_roots_are_refused(tmp_path: Path) -> None:
    root, outside = _tree(tmp_path)
    before = _snapshot(outside)
    calls = _calls(outside)
    with FakeOpenAIServer() as fake:
        settings = load_settings(server={"roots": [str(root)]}, llm=fake_llm_overrides(fake, max_retries=0))
        async with Client(create_server(settings)) as client:
            for tool, argument, arguments in calls:
                result = await client.call_tool(tool, arguments)
                text = result.content[0].text  # type: ignore[union-attr]
                assert result.is_error, (tool, argument, arguments, text[:300])
                assert "outside the folders" in text or "will not follow" in text, (tool, argument, text[:300])
                assert MARKER not in text and "Traceback" not in text
        assert fake.requests == []  # refused before any model call
    assert _snapshot(outside) == before, "nothing outside the root was written"
    assert not (root / "set").exists() and not (root / "report").exists()
