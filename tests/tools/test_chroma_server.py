"""Semantic memory on a real Chroma server (``chroma run``, started and stopped here) gives the same
results as the embedded store on the same data, through the function and through ``ftds-agent dedupe``."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftds.tools.config import DedupeSettings
from ftds.tools.dataset.dedupe import dedupe_records
from ftds.tools.dataset.semantic import UseEmbedder
from tests.conftest import run_cli

pytestmark = pytest.mark.cluster

FIRST = [
    {"instruction": "什么是个人信息？", "output": "个人信息是与已识别或者可识别的自然人有关的各种信息。"},
    {"instruction": "How do I bake bread at home?", "output": "Mix flour, water, salt and yeast, then bake."},
    {"instruction": "What is personal information?", "output": "Any information about an identifiable person."},
]
LATER = [
    {"instruction": "什么是个人信息?", "output": "个人信息是与已识别或可识别的自然人有关的各种信息。"},
    {"instruction": "Which court hears a lease dispute?", "output": "The court where the property lies."},
    {"instruction": "How can I bake bread at home?", "output": "Mix flour, water, salt and yeast, then bake it."},
]


def _chroma_binary() -> str:
    found = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(found).exists():
        pytest.skip("the chroma CLI (shipped with the chromadb package) is not installed")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path / "chroma.log").open("w")
    process = subprocess.Popen(
        [_chroma_binary(), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"chroma run did not start: {(tmp_path / 'chroma.log').read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _outcome(report) -> tuple[list[int], list[tuple[int, list[int], str, str | None]]]:  # type: ignore[no-untyped-def]
    return report.kept, [(c.kept, c.removed, c.method, c.matched_earlier) for c in report.clusters]


def test_the_server_store_gives_the_embedded_stores_results(chroma_url: str, tmp_path: Path) -> None:
    embedder = UseEmbedder()
    local = DedupeSettings(semantic_threshold=0.8)
    served = DedupeSettings(semantic_threshold=0.8, chroma_url=chroma_url)
    outcomes = []
    for settings, store in ((local, tmp_path / "embedded"), (served, None)):
        first = dedupe_records(FIRST, settings, ("semantic",), store_dir=store, embedder=embedder)
        later = dedupe_records(LATER, settings, ("semantic",), store_dir=store, embedder=embedder)
        outcomes.append((_outcome(first), _outcome(later)))
    assert outcomes[0] == outcomes[1]
    (_, _), (later_kept, later_clusters) = outcomes[1]
    assert 1 in later_kept  # the new question survives
    assert any(method == "earlier-run" for _, _, method, _ in later_clusters)  # remembered on the server


def test_cli_dedupe_with_chroma_url_remembers_across_runs_and_a_dead_server_is_a_clear_error(
    chroma_url: str, tmp_path: Path
) -> None:
    for name, records in (("first.jsonl", FIRST), ("later.jsonl", LATER)):
        (tmp_path / name).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    args = ["--methods", "semantic", "--chroma-url", chroma_url, "--json"]
    first = run_cli("dedupe", "first.jsonl", "--out", "a.jsonl", *args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    later = run_cli("dedupe", "later.jsonl", "--out", "b.jsonl", *args, cwd=tmp_path)
    payload = json.loads(later.stdout)
    assert later.returncode == 0 and payload["store"] == chroma_url
    assert payload["removed"] >= 1 and payload["kept"] < len(LATER)
    assert not (tmp_path / "cache" / "dedupe-store").exists()  # nothing was written to a local store
    dead = f"http://127.0.0.1:{_free_port()}"
    failed = run_cli(
        "dedupe", "later.jsonl", "--out", "c.jsonl", "--methods", "semantic", "--chroma-url", dead, cwd=tmp_path
    )
    assert failed.returncode == 2 and "could not reach the Chroma server" in failed.stderr
    assert "Traceback" not in failed.stderr
    bad = run_cli("dedupe", "later.jsonl", "--out", "c.jsonl", "--chroma-url", "ftp://x", cwd=tmp_path)
    assert bad.returncode == 2 and "http(s)://HOST" in bad.stderr
