"""The generated hostile corpus (``hostile.py``) through every CLI verb that takes a path: no traceback, no
hang (every subprocess has a timeout), every input accounted for in the report, exit codes by the convention
(0 all done, 1 nothing usable, 2 bad input, 3 partial). Property-based where the input space is open."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftds.tools.formats import FormatError, read_dataset
from ftds.tools.ingest import load_literature
from ftds.tools.ingest.registry import READERS
from tests.adversarial.hostile import ENCODINGS, build_datasets, build_literature
from tests.adversarial.inprocess import cli
from tests.conftest import fake_llm_flags, run_cli
from tests.fakes.fake_openai_server import FakeOpenAIServer

EXIT_CODES = {0, 1, 2, 3}
DATASET_VERBS = {
    "convert": ["--to", "sharegpt", "--out", "out/converted.jsonl"],
    "validate": [],
    "dedupe": ["--out", "out/deduped.jsonl", "--methods", "exact,near"],
    "split": ["--out", "out/splits"],
    "export": ["--out", "out/export"],
}


def _no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode in EXIT_CODES, (done.returncode, done.stderr[-1000:])


def test_ingest_accounts_for_every_hostile_path_in_a_subprocess(tmp_path: Path) -> None:
    tree = build_literature(tmp_path)
    done = run_cli("ingest", "docs", "--out", "chunks.jsonl", "--json", cwd=tmp_path, timeout=120)
    _no_traceback(done)
    assert done.returncode == 3  # some files failed, the rest loaded
    files = {f["source"]: f for f in json.loads(done.stdout)["files"]}
    assert set(files) == tree.expected  # every path: loaded, skipped or failed, none missing, none invented
    assert {s for s, f in files.items() if f["status"] == "loaded"} == tree.readable | {"bad-quotes.csv"}
    assert all(f["reason"] for f in files.values() if f["status"] != "loaded")
    chunks = (tmp_path / "chunks.jsonl").read_text(encoding="utf-8")
    for text in ENCODINGS.values():  # every encoding the readers claim comes out as written
        assert text[:20] in chunks, text
    plain = run_cli("ingest", "docs", "--out", "chunks2.jsonl", cwd=tmp_path, timeout=120)
    _no_traceback(plain)
    assert "new\\nline.md" in plain.stderr and "caf\\xe9" in plain.stderr  # escaped, one line each


@pytest.mark.slow
def test_build_on_the_hostile_folder_with_the_fake_model_accounts_for_every_file(
    tmp_path: Path, fake_server: FakeOpenAIServer
) -> None:
    tree = build_literature(tmp_path)
    done = run_cli(
        "build", "docs", "--out", "dataset", "--max-chunks", "3", "--no-labels", "--json",
        *fake_llm_flags(fake_server), cwd=tmp_path, timeout=300,
    )  # fmt: skip
    _no_traceback(done)
    summary = json.loads(done.stdout)
    assert {f["source"] for f in summary["files"]} == tree.expected
    assert summary["files_loaded"] == len(tree.readable | {"bad-quotes.csv"})
    assert summary["generated"] == summary["accepted"] + summary["rejected"] + summary["failed"]
    assert done.returncode in (0, 3) and summary["accepted"] > 0


@pytest.mark.parametrize("verb", sorted(DATASET_VERBS))
def test_every_dataset_verb_survives_every_hostile_dataset_file(tmp_path: Path, verb: str) -> None:
    paths = build_datasets(tmp_path / "data")
    for index, (name, path) in enumerate(paths.items()):
        arguments = [a.replace("out/", f"out{index}/") for a in DATASET_VERBS[verb]]  # a fresh --out each time
        done = cli(verb, str(path), *arguments, "--json", cwd=tmp_path)
        assert "Traceback" not in done.stderr, (name, done.stderr[-3000:])
        assert done.returncode in EXIT_CODES, (name, done.returncode)
        if done.returncode == 2 and not done.stdout:  # refused before any result: one sentence saying why
            assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1, (name, done.stderr)
        elif done.returncode == 2:  # validate's verdict: the JSON lists what is wrong
            assert json.loads(done.stdout)["errors"], name
        if done.returncode in (0, 3) and verb in ("convert", "validate", "dedupe"):
            payload = json.loads(done.stdout)
            _accounted(verb, payload, name)


def _accounted(verb: str, payload: dict[str, object], name: str) -> None:
    """Every record read is in exactly one bucket of the summary."""
    if verb == "convert":
        failed = {e["index"] for e in payload["errors"]}  # type: ignore[union-attr, index]
        assert payload["error_count"] == len(failed) or payload["error_count"] > len(failed), name
        assert payload["read"] == payload["converted"] + payload["error_count"], name
    elif verb == "validate":
        assert payload["total"] >= payload["valid"], name
    else:
        assert payload["total"] == payload["kept"] + payload["removed"], name


@pytest.mark.parametrize("verb", sorted(DATASET_VERBS))
def test_each_dataset_verb_as_an_executable_keeps_the_good_lines_and_exits_3(tmp_path: Path, verb: str) -> None:
    paths = build_datasets(tmp_path / "data")
    done = run_cli(verb, str(paths["mixed.jsonl"]), *DATASET_VERBS[verb], "--json", cwd=tmp_path, timeout=120)
    _no_traceback(done)
    assert done.returncode == 3
    assert [bad["line"] for bad in json.loads(done.stdout)["unreadable"]] == [5]


def test_a_fifo_given_to_a_dataset_verb_does_not_hang(tmp_path: Path) -> None:
    paths = build_datasets(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-m", "ftds.agents.cli", "validate", str(paths["pipe.jsonl"])],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "not a regular file" in done.stderr


SUFFIXES = [*sorted(READERS), ".bin", ".doc", ""]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    files=st.lists(
        st.tuples(st.sampled_from(SUFFIXES), st.binary(max_size=600)), min_size=1, max_size=6, unique_by=lambda f: f[0]
    )
)
def test_any_bytes_under_any_suffix_get_exactly_one_report_each(tmp_path_factory: pytest.TempPathFactory,
                                                                 files: list[tuple[str, bytes]]) -> None:  # fmt: skip
    folder = tmp_path_factory.mktemp("fuzz")
    for index, (suffix, data) in enumerate(files):
        (folder / f"f{index}{suffix}").write_bytes(data)
    result = load_literature([folder])
    assert sorted(f.source for f in result.files) == sorted(f"f{i}{s}" for i, (s, _) in enumerate(files))
    assert all(f.reason for f in result.files if f.status != "loaded")
    assert len(result.documents) == sum(f.status == "loaded" for f in result.files)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.sampled_from([".json", ".jsonl", ".csv", ".parquet"]), data=st.binary(max_size=800))
def test_any_bytes_as_a_dataset_file_read_or_fail_with_a_format_error(
    tmp_path_factory: pytest.TempPathFactory, suffix: str, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("ds") / f"data{suffix}"
    path.write_bytes(data)
    bad: list[dict[str, object]] = []
    try:
        records = read_dataset(path, bad_lines=bad)
    except FormatError as exc:
        assert str(exc)
        return
    assert isinstance(records, list)
    assert all(isinstance(b["line"], int) and b["line"] >= 1 for b in bad)
