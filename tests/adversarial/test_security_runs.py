"""Issue 13 item 2: a client only sees and touches build runs whose folders lie inside its roots. A run made
elsewhere (by the CLI, or by a server with other roots) is, to this client, the same as no run at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from ftds.agents.runs import RunStore
from ftds.server.app import create_server
from ftds.tools.config import load_settings

OUTSIDE_REPORT = "# ftds run OUTSIDE-REPORT-MARKER"


def _register(store: RunStore, run_id: str, out_dir: Path, inputs: list[Path]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.md").write_text(OUTSIDE_REPORT, encoding="utf-8")
    (out_dir / "report.json").write_text(json.dumps({"outputs": {"alpaca/train": str(out_dir / "x")}}), "utf-8")
    store.create(run_id, "law", [str(p) for p in inputs], str(out_dir), {})
    store.update(run_id, "finished", {"accepted": 1})


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, RunStore]:
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    store = RunStore(load_settings().runs_dir)
    _register(store, "inside-run", root / "ds", [root / "docs"])
    _register(store, "outside-out", tmp_path / "elsewhere" / "ds", [root / "docs"])
    _register(store, "outside-input", root / "ds2", [tmp_path / "private"])
    return root, store


async def test_list_runs_and_get_run_show_only_runs_inside_the_roots(runs: tuple[Path, RunStore]) -> None:
    root, store = runs
    async with Client(create_server(load_settings(server={"roots": [str(root)]}))) as client:
        listed = await client.call_tool("list_runs", {"limit": 50})
        inside = await client.call_tool("get_run", {"run_id": "inside-run"})
        outside = await client.call_tool("get_run", {"run_id": "outside-out"})
        private = await client.call_tool("get_run", {"run_id": "outside-input"})
        unknown = await client.call_tool("get_run", {"run_id": "no-such-run"})
    assert [r["run_id"] for r in listed.structured_content["result"]] == ["inside-run"]
    assert not inside.is_error and inside.structured_content["out_dir"] == str(root / "ds")
    texts = [r.content[0].text for r in (outside, private, unknown)]
    assert all(r.is_error for r in (outside, private, unknown))
    # the same sentence for a run outside the roots and for no run at all: nothing to tell them apart
    ids = ("outside-out", "outside-input", "no-such-run")
    assert {t.replace(rid, "ID") for t, rid in zip(texts, ids, strict=True)} == {texts[2].replace("no-such-run", "ID")}
    for text in texts:
        assert str(store.runs_dir) not in text and "inside-run" not in text and "elsewhere" not in text


async def test_run_resources_refuse_runs_outside_the_roots_like_unknown_ones(runs: tuple[Path, RunStore]) -> None:
    root, _ = runs
    errors: dict[str, str] = {}
    async with Client(create_server(load_settings(server={"roots": [str(root)]}))) as client:
        report = await client.read_resource("ftds://runs/inside-run/report")
        for run_id in ("outside-out", "outside-input", "no-such-run"):
            for kind in ("report", "dataset"):
                with pytest.raises(MCPError) as caught:
                    await client.read_resource(f"ftds://runs/{run_id}/{kind}")
                errors[f"{run_id}/{kind}"] = str(caught.value).replace(run_id, "ID")
    assert report.contents[0].text == OUTSIDE_REPORT  # the marker text, read from inside the root here
    assert len(set(errors.values())) <= 2 and "OUTSIDE-REPORT-MARKER" not in "".join(errors.values())
    assert errors["outside-out/report"] == errors["no-such-run/report"]


async def test_a_run_report_file_that_links_outside_the_roots_is_not_read(
    runs: tuple[Path, RunStore], tmp_path: Path
) -> None:
    root, _ = runs
    secret = tmp_path / "secret.md"
    secret.write_text("SECRET-LINKED-REPORT", encoding="utf-8")
    (root / "ds" / "report.md").unlink()
    (root / "ds" / "report.md").symlink_to(secret)
    async with Client(create_server(load_settings(server={"roots": [str(root)]}))) as client:
        with pytest.raises(MCPError) as caught:
            await client.read_resource("ftds://runs/inside-run/report")
    assert "SECRET-LINKED-REPORT" not in str(caught.value)


async def test_resuming_a_run_outside_the_roots_is_refused_before_anything_is_touched(
    runs: tuple[Path, RunStore], tmp_path: Path
) -> None:
    root, store = runs
    before = store.get("outside-out")
    async with Client(create_server(load_settings(server={"roots": [str(root)]}))) as client:
        outside = await client.call_tool("build_dataset", {"resume_run_id": "outside-out"})
        unknown = await client.call_tool("build_dataset", {"resume_run_id": "no-such-run"})
    assert outside.is_error and unknown.is_error
    assert outside.content[0].text.replace("outside-out", "ID") == unknown.content[0].text.replace("no-such-run", "ID")
    assert str(store.runs_dir) not in unknown.content[0].text and "inside-run" not in unknown.content[0].text
    after = store.get("outside-out")
    assert before is not None and after is not None
    assert (after.status, after.updated_at) == (before.status, before.updated_at)
    assert sorted(p.name for p in (tmp_path / "elsewhere" / "ds").iterdir()) == ["report.json", "report.md"]


async def test_a_run_inside_the_roots_still_resumes_over_mcp(tmp_path: Path) -> None:
    from tests.conftest import fake_llm_overrides
    from tests.fakes.fake_openai_server import FakeOpenAIServer

    root = tmp_path / "root"
    root.mkdir()
    (root / "law.md").write_text("第一条 为了规范数据处理活动，保障数据安全，制定本法。\n" * 3, encoding="utf-8")
    with FakeOpenAIServer() as fake:
        settings = load_settings(server={"roots": [str(root)]}, llm=fake_llm_overrides(fake))
        async with Client(create_server(settings)) as client:
            built = await client.call_tool("build_dataset", {"paths": ["law.md"], "out_dir": "ds", "max_chunks": 1})
            run_id = built.structured_content["run_id"]
            RunStore(settings.runs_dir).update(run_id, "interrupted")
            resumed = await client.call_tool("build_dataset", {"resume_run_id": run_id})
    assert not resumed.is_error, resumed.content
    assert resumed.structured_content["run_id"] == run_id and resumed.structured_content["out_dir"] == str(root / "ds")


async def test_the_clients_own_roots_decide_which_runs_it_sees_in_tools_and_resources(
    runs: tuple[Path, RunStore], tmp_path: Path
) -> None:
    from mcp.types import ListRootsResult, Root

    root, store = runs
    workspace = tmp_path / "workspace"  # the client's root; the configured root holds "inside-run"
    (workspace / "docs").mkdir(parents=True)
    _register(store, "workspace-run", workspace / "ds", [workspace / "docs"])

    async def list_roots(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=workspace.as_uri(), name="workspace")])

    server = create_server(load_settings(server={"roots": [str(root)]}))
    async with Client(server, mode="legacy", list_roots_callback=list_roots) as client:
        listed = await client.call_tool("list_runs", {})
        report = await client.read_resource("ftds://runs/workspace-run/report")
        with pytest.raises(MCPError):
            await client.read_resource("ftds://runs/inside-run/report")
    assert [r["run_id"] for r in listed.structured_content["result"]] == ["workspace-run"]
    assert report.contents[0].text == OUTSIDE_REPORT
