"""``ftds-agent eval`` with the REAL embedded model (Qwen2.5-Coder-0.5B GGUF) as the model under test and as
the judge of the open item, on a small set (built with the fake generator, which is not what is tested here).

Nothing is faked on the evaluated side: llama.cpp answers every item, the answers are read and scored, the
open item is judged by the same model against its rubric, and the report is written.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS, MODEL_CACHE, fake_llm_flags
from tests.fakes.fake_openai_server import FakeOpenAIServer

pytestmark = pytest.mark.embedded
LAW = CORPUS / "law_zh" / "数据安全法(2021-06-10).md"


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ftds.agents.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=900,
        check=False,
    )


def test_the_embedded_model_is_evaluated_and_judged_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FTDS_")}
    env["FTDS_CACHE_DIR"] = str(MODEL_CACHE)  # the assembled GGUF is shared; replies are not cached (--no-cache)
    env["FTDS_EVALUATION__ANSWER_MAX_TOKENS"] = "96"
    env["FTDS_LLM__N_THREADS"] = "2"
    kinds = ["--kind", "single_choice", "--kind", "true_false", "--kind", "short_answer", "--kind", "open"]
    with FakeOpenAIServer() as server:
        built = cli(
            "eval-set", "build", str(LAW), "--out", str(tmp_path / "set"), "--max-chunks", "1",
            "--items-per-kind", "1", *kinds, *fake_llm_flags(server), "--json", env=env, cwd=tmp_path,
        )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    info = json.loads(built.stdout)
    assert 3 <= info["items"] <= 6, info

    result = cli(
        "eval", "--set", str(tmp_path / "set"), "--model", "qwen2.5-coder-0.5b", "--out", str(tmp_path / "report"),
        "--no-cache", "--json", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode in (0, 3), result.stderr[-3000:]
    report = json.loads(result.stdout)
    summary = report["models"][0]
    assert summary["model"] == "embedded/qwen2.5-coder-0.5b"
    assert summary["items"] == info["items"] and summary["scored"] + summary["failed"] == info["items"]
    assert summary["scored"] >= info["items"] - 1
    assert summary["usage"]["completion_tokens"] > 0 and summary["usage"]["cached_calls"] == 0
    answers = [json.loads(line) for line in next((tmp_path / "report" / "answers").glob("*.jsonl")).open()]
    assert len(answers) == info["items"] and all(a["reply"].strip() for a in answers if a["failure"] is None)
    judged = [a for a in answers if a["kind"] == "open" and a["failure"] is None]
    assert all(a["judged"] and a["judge"] == "embedded/qwen2.5-coder-0.5b" for a in judged)
    assert report["self_judged"] is True
    assert (tmp_path / "report" / "report.html").stat().st_size > 10_000
