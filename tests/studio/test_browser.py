"""The studio in a real browser: Debian's chromium driven by Playwright against a real studio server.

One reviewer session over a build made by the FAKE OpenAI-compatible server: open the build's output, filter
by label, edit a sample, reject one, rescue a rejected one, bulk re-label with a preview, export, download;
then the exported files go through LLaMA-Factory's own loader and the audit log is checked. The test saves
screenshots of the main pages to docs/images/studio-*.png (kept current by running it).
"""

from __future__ import annotations

import importlib.util
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftds.server.studio.serve import studio_asgi
from ftds.tools.studio import operations
from ftds.tools.studio.store import open_workspace
from tests.agents.test_build import _build, _inputs
from tests.conftest import REPO
from tests.fakes.fake_openai_server import FakeOpenAIServer
from tests.studio.conftest import _free_port, wait_for
from tests.tools import llamafactory_oracle

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IMAGES = REPO / "docs" / "images"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None, reason="playwright absent: run scripts/setup-browser.sh"
    ),
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="/usr/bin/chromium absent: run scripts/setup-browser.sh"),
]


class StudioServer:
    """The real studio app on a free loopback port, served by uvicorn in a thread."""

    def __init__(self, workspace: Path, roots: list[Path]) -> None:
        import uvicorn

        self.port = _free_port()
        self.ws = open_workspace(workspace)
        app, _ = studio_asgi(self.ws, roots, workspace / "exports", port=self.port)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> StudioServer:
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=30)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.ws.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


def _shot(page: object, name: str) -> None:
    """A screenshot for docs/images, without the transient notices."""
    page.evaluate("document.querySelector('#toast')?.replaceChildren()")  # type: ignore[attr-defined]
    page.screenshot(path=str(IMAGES / name))  # type: ignore[attr-defined]


@pytest.fixture
async def fake_build(tmp_path: Path, law_file: Path) -> Path:
    inputs = _inputs(tmp_path, law_file)
    with FakeOpenAIServer() as server:
        await _build(server, inputs, tmp_path / "out")
    out = tmp_path / "out"
    rejected = out / "rejected.jsonl"
    if not rejected.is_file() or not rejected.read_text(encoding="utf-8").strip():
        # The fake reviewer rejected nothing this time: keep one sample as the build keeps rejected ones
        # (whole, with `rejection` set), so the test can rescue a rejected sample of this build.
        first = json.loads((out / "provenance" / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
        kept = {**first, "sample_id": "rejected-0", "rejection": {"reason": "precheck:unsupported", "detail": ""}}
        (out / "rejected.jsonl").write_text(json.dumps(kept, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


@pytest.fixture
def browser_page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        browser.close()
        assert not errors, f"JavaScript errors: {errors}"


def test_a_reviewer_fixes_a_build_in_the_browser_and_exports_it(
    fake_build: Path, tmp_path: Path, browser_page: object
) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    IMAGES.mkdir(parents=True, exist_ok=True)
    with StudioServer(tmp_path / "workspace", [tmp_path]) as studio:
        page.goto(studio.url)
        page.fill("#reviewer", "王审阅")
        # open the build's output
        page.fill("#import-path", str(fake_build))
        page.fill("#import-name", "law-build")
        page.fill("#import-docs", str(tmp_path / "input"))  # the build's inputs: the sample view shows passages
        page.click("#import-form button")
        expect(page.locator("#datasets-table")).to_contain_text("law-build")
        _shot(page, "studio-datasets.png")
        page.click("#datasets-table a >> text=law-build")
        expect(page.locator("#samples tr.row").first).to_be_visible()
        info = operations.get_dataset(studio.ws, "law-build")
        build_rejected = operations.list_samples(studio.ws, info.id, operations.SampleFilter(decision="reject"))
        rescue_id = build_rejected.rows[0].sample_id  # a sample the build rejected
        # filter by label
        sizes = {
            name: operations.list_samples(studio.ws, info.id, operations.SampleFilter(label=name), limit=1).total
            for name in page.locator("#f-label option").all_text_contents()[2:]
        }
        label = max((name for name, size in sizes.items() if 3 <= size <= 50), key=lambda name: sizes[name])
        expected = sizes[label]
        page.select_option("#f-label", label)
        expect(page.locator("#page-info")).to_contain_text(f"{expected} matching")
        assert page.locator("#samples tr.row").count() == min(expected, 50)
        # edit a sample (keyboard: j selects, e edits, Ctrl+Enter saves)
        page.locator("body").press("j")
        expect(page.locator("#act-edit")).to_be_visible()
        expect(page.locator("#passage")).to_be_visible()
        edited_id = page.locator("#samples tr.row.selected").get_attribute("data-sample")
        assert edited_id
        _shot(page, "studio-review.png")
        page.locator("body").press("e")
        page.fill("#editor textarea[name=answer]", "经审阅修改的回答：数据处理包括数据的收集、存储、使用。")
        page.locator("#editor textarea[name=answer]").press("Control+Enter")
        expect(page.locator("#sample-view")).to_contain_text("经审阅修改的回答")
        expect(page.locator("#history")).to_contain_text("王审阅")
        # reject another one (keyboard r, a reason, Enter)
        page.locator("body").press("j")
        expect(page.locator("#samples tr.row").nth(1)).to_have_class("row selected")
        rejected_id = page.locator("#samples tr.row.selected").get_attribute("data-sample")
        page.locator("body").press("r")
        page.fill("#reject-reason", "答案与原文不符")
        page.press("#reject-reason", "Enter")
        badge = page.locator(f'#samples tr[data-sample="{rejected_id}"] .badge')
        expect(badge).to_have_class("badge reject")
        page.locator("body").press("u")  # undo puts it back ...
        expect(badge).to_have_class("badge accept")
        page.locator("body").press("k")
        expect(page.locator(f'#samples tr[data-sample="{rejected_id}"]')).to_have_class("row selected")
        page.locator("body").press("a")  # ... a keeps it (recorded as this reviewer's judgement) ...
        expect(page.locator("#samples tr.row").nth(2)).to_have_class("row selected")
        page.locator("body").press("k")
        expect(page.locator(f'#samples tr[data-sample="{rejected_id}"]')).to_have_class("row selected")
        page.locator("body").press("r")  # ... and a second look rejects it for good
        page.fill("#reject-reason", "答案与原文不符")
        page.press("#reject-reason", "Enter")
        expect(badge).to_have_class("badge reject")
        # rescue a sample the build rejected
        page.click("#f-clear")
        page.select_option("#f-decision", "reject")
        # wait for the filtered list (a click on a row of the list it replaces selects nothing); the sample the
        # reviewer rejected above is in it too
        expect(page.locator("#page-info")).to_contain_text(f"{build_rejected.total + 1} matching")
        page.locator(f"#samples tr[data-sample='{rescue_id}']").click()
        expect(page.locator("#act-rescue")).to_be_visible()
        page.click("#act-rescue")
        expect(page.locator(f"#samples tr[data-sample='{rescue_id}']")).to_have_count(0)
        # bulk re-label everything under the label, with a preview of every change
        page.click("#f-clear")
        page.select_option("#f-label", label)
        page.click("#bulk-relabel")
        page.fill("#bulk-label", "复核/已确认")
        page.click("#bulk-preview")
        expect(page.locator("#bulk-summary")).to_contain_text(str(expected))
        assert page.locator("#bulk-changes tbody tr").count() == expected
        _shot(page, "studio-bulk-preview.png")
        page.click("#bulk-apply")
        expect(page.locator("#page-info")).to_contain_text("0 matching")
        # the label tree and its balance; the team page; Chinese UI
        page.goto(f"{studio.url}#/d/{info.id}/labels")
        expect(page.locator("#label-tree")).to_contain_text("复核")
        _shot(page, "studio-labels.png")
        page.locator('#label-tree [data-label="复核/已确认"] > span').first.click()  # a label opens its samples
        expect(page.locator("#page-info")).to_contain_text(f"{expected} matching")
        page.goto(f"{studio.url}#/d/{info.id}/team")
        page.fill("#assign-form input[name=reviewer]", "李复核")
        page.select_option("#assign-form select[name=label_scope]", "复核/已确认")
        page.click("#assign-form button")
        expect(page.locator("#assignments")).to_contain_text("李复核")
        page.click("#lang")
        expect(page.locator("#nav")).to_contain_text("审阅")
        page.goto(f"{studio.url}#/d/{info.id}/review")
        page.click("#f-clear")  # the filter is kept per dataset; everything under it was re-labelled
        expect(page.locator("#samples tr.row").first).to_be_visible()
        page.locator("#samples tr.row").first.click()
        expect(page.locator("#act-accept")).to_contain_text("接受")
        _shot(page, "studio-review-zh.png")
        page.click("#lang")
        # validate and export, then download
        page.goto(f"{studio.url}#/d/{info.id}/export")
        page.click("#validate-form button")
        expect(page.locator("#validate-summary")).to_contain_text("valid")
        page.click("#export-button")
        expect(page.locator("#download")).to_be_visible()
        _shot(page, "studio-export.png")
        with page.expect_download() as download:
            page.click("#download button")
        archive = tmp_path / "export.zip"
        download.value.save_as(archive)
        log = operations.history(studio.ws, info.id, limit=100)
        relabelled = operations.list_samples(
            studio.ws, info.id, operations.SampleFilter(label="复核/已确认", decision="accept")
        ).total
        # a double review of six samples (after the export): the team page shows how far the two agree
        pairs = [("accept", "accept")] * 3 + [("accept", "reject")] + [("reject", "reject")] * 2
        others = operations.list_samples(studio.ws, info.id, limit=6).rows
        for row, (first, second) in zip(others, pairs, strict=True):
            for name, decision in (("王审阅", first), ("李复核", second)):
                reason = "" if decision == "accept" else "double review"
                operations.decide(studio.ws, info.id, row.sample_id, decision, name, reason)  # type: ignore[arg-type]
        page.goto(f"{studio.url}#/d/{info.id}/team")
        expect(page.locator("#agreement")).to_contain_text("0.67")  # p_o 5/6, p_e 1/2: kappa 2/3
        _shot(page, "studio-team.png")
    # the exported files: LLaMA-Factory's own loader takes them, and they carry the reviewer's work
    out = tmp_path / "exported"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(out)
    dataset_info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    train_name = next(name for name in dataset_info if name.endswith("_train"))
    if llamafactory_oracle.available():
        kept, warnings = llamafactory_oracle.load_like_llamafactory(out, train_name)
        assert kept and not warnings
    records = [json.loads(line) for line in (out / "provenance" / "train.jsonl").read_text("utf-8").splitlines()]
    records += [
        json.loads(line)
        for split in ("validation", "test")
        if (out / "provenance" / f"{split}.jsonl").is_file()
        for line in (out / "provenance" / f"{split}.jsonl").read_text("utf-8").splitlines()
    ]
    by_id = {r["sample_id"]: r for r in records}
    assert by_id[edited_id]["answer"].startswith("经审阅修改的回答")
    assert by_id[edited_id]["studio"]["reviewer"] == "王审阅"
    assert by_id[rescue_id]["studio"]["decision"] == "accept"  # rescued
    assert rejected_id not in by_id
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text("utf-8").splitlines()]
    assert any(r["sample_id"] == rejected_id and r["rejection"]["detail"] == "答案与原文不符" for r in rejected)
    assert relabelled >= expected - 1  # every sample under the label, but the one rejected before
    assert sum(r["label"] == "复核/已确认" for r in records) == relabelled
    # the audit log: who did what
    actions = [(entry.actor, entry.action) for entry in reversed(log)]
    assert ("王审阅", "edit") in actions and ("王审阅", "reject") in actions and ("王审阅", "accept") in actions
    assert ("王审阅", "bulk-relabel") in actions


HOST_PAGE = """<!doctype html><html><body style="margin:0">
<iframe id="app" sandbox="allow-scripts" style="width:1200px;height:760px;border:0"></iframe>
<script>
window.addEventListener("message", async (event) => {
  const frame = document.getElementById("app").contentWindow;
  const m = event.data;
  if (event.source !== frame || !m || m.jsonrpc !== "2.0") return;
  const reply = (result) => frame.postMessage({ jsonrpc: "2.0", id: m.id, result }, "*");
  if (m.method === "ui/initialize") {
    reply({ protocolVersion: "2026-01-26", hostInfo: { name: "test-host", version: "1" },
            hostCapabilities: {}, hostContext: {} });
  } else if (m.method === "ui/notifications/initialized") {
    const input = { arguments: window.toolArgs };
    frame.postMessage({ jsonrpc: "2.0", method: "ui/notifications/tool-input", params: input }, "*");
    frame.postMessage({ jsonrpc: "2.0", method: "ui/notifications/tool-result", params: window.toolResult }, "*");
  } else if (m.method === "tools/call") {
    reply(await window.hostCallsTool(m.params.name, m.params.arguments));
  } else if (m.id !== undefined) {
    reply({});
  }
});
</script></body></html>"""


class McpSession:
    """A real MCP client session on the ftds server, in its own event loop thread, callable from sync code."""

    def __init__(self, root: Path) -> None:
        import asyncio

        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._serve(root),), daemon=True)
        self.thread.start()

    async def _serve(self, root: Path) -> None:
        from mcp import Client

        from ftds.server.app import create_server
        from ftds.tools.config import load_settings

        async with Client(create_server(load_settings(server={"roots": [str(root)]}))) as client:
            while (item := await self.queue.get()) is not None:
                work, future = item  # type: ignore[misc]
                try:
                    future.set_result(await work(client))
                except Exception as exc:
                    future.set_exception(exc)

    def run(self, work: object) -> object:
        from concurrent.futures import Future

        future: Future[object] = Future()
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (work, future))
        return future.result(timeout=120)

    def call(self, name: str, arguments: dict[str, object]) -> dict[str, object]:
        result = self.run(lambda client: client.call_tool(name, arguments))
        texts = [{"type": "text", "text": c.text} for c in result.content if hasattr(c, "text")]  # type: ignore[attr-defined]
        return {"isError": result.is_error, "structuredContent": result.structured_content, "content": texts}  # type: ignore[attr-defined]

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, None)
        self.thread.join(timeout=60)


def test_the_mcp_apps_review_view_reviews_through_the_host(
    tmp_path: Path, build_folder: Path, browser_page: object
) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    session = McpSession(tmp_path)
    try:
        session.call("studio_import", {"path": str(build_folder), "name": "law"})
        html = session.run(lambda client: client.read_resource("ui://ftds/review")).contents[0].text  # type: ignore[attr-defined]
        arguments = {"dataset": "law", "limit": 10}
        first = session.call("studio_review", arguments)
        page.expose_function("hostCallsTool", session.call)  # a name the app does not use
        page.set_content(HOST_PAGE)
        page.evaluate(
            "([html, args, result]) => { window.toolArgs = args; window.toolResult = result;"
            " document.getElementById('app').srcdoc = html; }",
            [html, arguments, {"structuredContent": first["structuredContent"], "content": first["content"]}],
        )
        app = page.frame_locator("#app")
        expect(app.locator("tr.row")).to_have_count(10)
        app.locator("tr.row").first.click()
        expect(app.locator("#detail")).to_contain_text("s000")
        app.locator("#reviewer").fill("chat-reviewer")
        app.locator("#reason").fill("not supported by the source")
        app.locator("#rej").click()
        expect(app.locator("tr.row").first.locator(".badge")).to_have_text("reject")
        _shot(page, "studio-mcp-app.png")
        decided = session.call("studio_get_sample", {"dataset": "law", "sample_id": "s000"})["structuredContent"]
    finally:
        session.close()
    assert decided["row"]["decision"] == "reject" and decided["row"]["reviewer"] == "chat-reviewer"  # type: ignore[index]
    assert decided["sample"]["rejection"]["detail"] == "not supported by the source"  # type: ignore[index]
