"""Generated trees of files and symlinks — into and out of the root, to files, folders, parents, loops,
dangling targets and dot-folders — through every MCP tool that takes a path. Whatever the tree: nothing
outside the root is read (its marker never shows up anywhere) or written (its bytes and listing stay the
same), no call crashes, and every file a folder walk meets is reported."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from ftds.server.app import create_server
from ftds.server.limits import MAX_PATH_CHARS
from ftds.tools.config import load_settings
from tests.conftest import fake_llm_overrides
from tests.fakes.fake_openai_server import FakeOpenAIServer

MARKER = "OUTSIDE-MARKER-7f3a"
LAW = "第一条 为了规范数据处理活动，保障数据安全，促进数据开发利用，制定本法。\n"
RECORD = {"instruction": "问题", "input": "", "output": "回答"}

# Every tool argument that names a path, read from server/tools_*.py (kept in step by the last test).
PATH_ARGUMENTS = {
    "load_literature": {"paths", "out_path"},
    "build_dataset": {"paths", "out_dir"},
    "convert_format": {"input_path", "out_path"},
    "validate_dataset": {"input_path"},
    "embed_dedupe": {"input_path", "out_path", "store_dir", "eval_path"},
    "split_dataset": {"input_path", "out_dir", "eval_path"},
    "export_dataset": {"input_path", "out_dir"},
    "get_dataset_details": {"dataset_id"},
    "build_eval_set": {"paths", "out_dir", "training"},
    "run_eval": {"set_dir", "out_dir"},
    # every studio tool names its workspace folder (the studio's database is inside it)
    **{
        f"studio_{name}": {"workspace"}
        for name in (
            "review",
            "list_datasets",
            "get_sample",
            "update_sample",
            "decide",
            "undo",
            "bulk_preview",
            "bulk_apply",
            "validate",
        )
    },
    "studio_import": {"workspace", "path"},
    "studio_edit_labels": {"workspace", "taxonomy_file"},
    "studio_export": {"workspace", "out_dir"},
}
# Arguments whose name says path but which name no file: a label path in the studio's label tree (Parent/Child).
NOT_PATHS = {"studio_edit_labels": {"path"}}

KINDS = [
    "md",  # a real file inside
    "jsonl",  # a real dataset inside
    "to_outside_file",
    "to_outside_jsonl",
    "to_outside_dir",
    "to_inside_file",
    "to_inside_dir",
    "to_parent",  # a folder cycle
    "to_root_parent",  # the folder above the root
    "loop",
    "dangling_inside",
    "dangling_outside",
    "to_hidden",
]
NAMES = ["a.md", "b.txt", "train.jsonl", "c.json", "sub", "d.jsonl", "e"]

entries = st.lists(
    st.tuples(st.sampled_from(["docs", "docs/sub"]), st.sampled_from(NAMES), st.sampled_from(KINDS)),
    min_size=1,
    max_size=8,
    unique_by=lambda e: (e[0], e[1]),
)


def _outside(base: Path) -> Path:
    outside = base / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.md").write_text(f"{MARKER} {LAW}" * 5, encoding="utf-8")
    (outside / "dir" / "secret.md").write_text(f"{MARKER} {LAW}" * 5, encoding="utf-8")
    (outside / "data.jsonl").write_text(json.dumps({**RECORD, "output": MARKER}) + "\n", encoding="utf-8")
    return outside


def _make(root: Path, outside: Path, spec: list[tuple[str, str, str]]) -> None:
    (root / "docs" / "sub").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / ".hidden" / "key.md").write_text(f"{MARKER} {LAW}", encoding="utf-8")
    (root / "docs" / "base.md").write_text(LAW * 3, encoding="utf-8")
    for folder, name, kind in spec:
        path = root / folder / name
        if path.exists() or path.is_symlink():
            continue
        targets = {
            "to_outside_file": outside / "secret.md",
            "to_outside_jsonl": outside / "data.jsonl",
            "to_outside_dir": outside / "dir",
            "to_inside_file": root / "docs" / "base.md",
            "to_inside_dir": root / "docs" / "sub",
            "to_parent": path.parent,
            "to_root_parent": root.parent,
            "loop": path,
            "dangling_inside": root / "docs" / "absent.md",
            "dangling_outside": outside / "absent.md",
            "to_hidden": root / ".hidden" / "key.md",
        }
        if kind == "md":
            path.write_text(LAW * 2, encoding="utf-8")
        elif kind == "jsonl":
            path.write_text(json.dumps(RECORD) + "\n", encoding="utf-8")
        else:
            path.symlink_to(targets[kind])


def _snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            stat = p.lstat()
            found[str(p.relative_to(folder))] = (stat.st_mtime_ns, stat.st_size, p.read_bytes() if p.is_file() else b"")
    return found


def _calls(root: Path, spec: list[tuple[str, str, str]]) -> list[tuple[str, dict[str, Any]]]:
    named = sorted({f"{folder}/{name}" for folder, name, _ in spec} | {"docs/base.md"})
    calls: list[tuple[str, dict[str, Any]]] = [
        ("load_literature", {"paths": ["docs"], "limit": 200, "out_path": "out/chunks.jsonl"}),
        ("load_literature", {"paths": named, "limit": 200}),
        ("export_dataset", {"input_path": "docs", "out_dir": "out/exp", "format": "alpaca"}),
        ("build_dataset", {"paths": ["docs"], "out_dir": "out/ds", "max_chunks": 1}),
        ("build_dataset", {"paths": named, "out_dir": "out/ds2", "max_chunks": 1}),
    ]
    for name in named[:2]:  # loading rows with `datasets` costs a second or two each
        calls.append(("get_dataset_details", {"dataset_id": name, "source": "local", "sample_rows": 2}))
    for name in named:
        calls += [
            ("validate_dataset", {"input_path": name}),
            ("convert_format", {"input_path": name, "to": "openai", "out_path": "out/conv.jsonl"}),
            ("embed_dedupe", {"input_path": "docs/base.md", "out_path": "out/dd.jsonl", "eval_path": name}),
            ("embed_dedupe", {"input_path": "out/conv.jsonl", "out_path": "out/dd.jsonl", "store_dir": name}),
            ("split_dataset", {"input_path": name, "out_dir": "out/split"}),
            ("split_dataset", {"input_path": "out/conv.jsonl", "out_dir": name}),
            ("export_dataset", {"input_path": "out/conv.jsonl", "out_dir": name, "format": "openai"}),
            ("get_dataset_details", {"dataset_id": name, "source": "local"}),
        ]
    return calls


def _files_walked(root: Path) -> set[str]:
    """Every entry under docs the report must account for (issue 13 item 12): each file and file-ish link,
    and each hidden entry or link to a folder (reported as not read, not entered)."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root / "docs"):
        unread = {d for d in dirnames if d.startswith(".") or (Path(dirpath) / d).is_symlink()}
        dirnames[:] = [d for d in dirnames if d not in unread]
        found |= {str((Path(dirpath) / n).relative_to(root / "docs")) for n in [*filenames, *unread]}
    return found


async def _exercise(base: Path, spec: list[tuple[str, str, str]], fake: FakeOpenAIServer) -> None:
    root = base / "root"
    outside = _outside(base)
    _make(root, outside, spec)
    before = _snapshot(outside)
    settings_ = load_settings(server={"roots": [str(root)]}, llm=fake_llm_overrides(fake, max_retries=0))
    shown: list[str] = []
    async with Client(create_server(settings_)) as client:
        for tool, arguments in _calls(root, spec):
            result = await client.call_tool(tool, arguments)
            text = json.dumps(result.model_dump(mode="json"), ensure_ascii=False)
            shown.append(text)
            assert "Traceback" not in text
            assert not (result.is_error and result.content[0].text.strip() == f"Error executing tool {tool}"), (
                tool,
                arguments,
            )  # the bare message is the SDK's sign of a crash
            if tool == "load_literature" and arguments["paths"] == ["docs"]:
                assert not result.is_error, result.content
                reported = [f["source"] for f in result.structured_content["files"]]
                assert sorted(reported) == sorted(_files_walked(root)), (reported, result.structured_content["files"])
    assert _snapshot(outside) == before, "nothing outside the root was written"
    everything = "".join(shown) + json.dumps(fake.requests, ensure_ascii=False, default=str)
    for dirpath, _, filenames in os.walk(root):
        for n in filenames:
            p = Path(dirpath) / n
            if p.is_file() and not p.is_symlink() and ".hidden" not in p.parts:
                everything += p.read_bytes().decode("utf-8", errors="replace")
    assert MARKER not in everything, "something outside the root (or in a dot-folder) was read"


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=entries)
def test_no_tool_reads_or_writes_outside_the_root_whatever_the_links(spec: list[tuple[str, str, str]]) -> None:
    with tempfile.TemporaryDirectory() as base, FakeOpenAIServer() as fake:
        asyncio.run(_exercise(Path(base), spec, fake))


def _takes_a_path(tool: str, name: str, schema: dict[str, Any]) -> bool:
    """Typed PathText, or named like a path. A URL (UrlText, run_eval's base_url) has its own bound, so it is
    not counted; NOT_PATHS lists, by hand, the few path-named arguments that name no file."""
    if name in NOT_PATHS.get(tool, set()):
        return False
    kinds = [schema, *schema.get("anyOf", [])]
    kinds += [k["items"] for k in kinds if isinstance(k.get("items"), dict)]
    typed = any(k.get("maxLength") == MAX_PATH_CHARS for k in kinds)  # the PathText type of server/limits.py
    return typed or any(word in name for word in ("path", "dir"))


def test_the_path_argument_list_matches_the_tools(tmp_path: Path) -> None:
    """A new path-taking tool argument must join PATH_ARGUMENTS (and so the generated test above)."""

    async def listed() -> dict[str, set[str]]:
        async with Client(create_server(load_settings(server={"roots": [str(tmp_path)]}))) as client:
            tools = (await client.list_tools()).tools
        return {
            t.name: {n for n, p in t.input_schema["properties"].items() if _takes_a_path(t.name, n, p)} for t in tools
        }

    found = {name: args for name, args in asyncio.run(listed()).items() if args}
    assert found == PATH_ARGUMENTS
