"""``ftds-agent eval-set build`` and ``ftds-agent eval`` end to end through the CLI, against fake
OpenAI-compatible servers started by the test: set folder, report, resume after a kill, comparison, errors."""

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import CORPUS, fake_llm_flags, run_cli
from tests.fakes.fake_eval import is_exam_question
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig

LAW = CORPUS / "law_zh" / "数据安全法(2021-06-10).md"


def exam_requests(server: FakeOpenAIServer, since: int = 0) -> int:
    prompts = ["\n".join(m["content"] for m in body["messages"]) for body in server.requests[since:]]
    return sum(1 for prompt in prompts if is_exam_question(prompt))


def build_set(server: FakeOpenAIServer, cwd: Path, out: Path, *extra: str) -> dict:
    result = run_cli(
        "eval-set",
        "build",
        str(LAW),
        "--max-chunks",
        "3",
        "--out",
        str(out),
        *fake_llm_flags(server),
        "--json",
        *extra,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_a_set_is_built_evaluated_and_a_killed_run_resumes_with_only_the_missing_items(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        info = build_set(server, tmp_path, tmp_path / "set")
        assert info["items"] >= 20 and info["failed"] == 0
        assert info["generated"] == info["items"] + info["rejected"]
        assert set(info["by_kind"]) == {"single_choice", "multiple_choice", "true_false", "short_answer", "open"}
        assert info["true_false"]["true"] == info["true_false"]["false"]
        for name in ("items.jsonl", "rejected.jsonl", "audit.json", "set.json", "README.md"):
            assert (tmp_path / "set" / name).is_file(), name
        rejected = (tmp_path / "set" / "rejected.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(rejected) + len(info["draft_rejections"]) == info["rejected"]
        assert all(json.loads(line)["rejection"] for line in rejected)

        args = ["eval", "--set", str(tmp_path / "set"), "--model", "fake", "--base-url", server.base_url]
        args += ["--out", str(tmp_path / "report"), "--no-cache", "--json"]
        before = len(server.requests)
        first = run_cli(*args, cwd=tmp_path)
        assert first.returncode == 0, first.stderr[-2000:]
        report = json.loads(first.stdout)
        assert exam_requests(server, before) == info["items"]
        summary = report["models"][0]
        assert summary["scored"] == info["items"] and summary["failed"] == 0
        assert set(summary["by_kind"]) == set(info["by_kind"]) and set(summary["by_difficulty"]) <= {
            "easy",
            "medium",
            "hard",
        }
        assert report["self_judged"] is True
        html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
        assert html.count("data:image/png;base64,") == 3
        wrong = report["wrong"][summary["model"]]
        assert wrong and all(w["evidence"] for w in wrong)

        answers = next((tmp_path / "report" / "answers").glob("*.jsonl"))
        lines = answers.read_text(encoding="utf-8").splitlines()
        answers.write_text("\n".join(lines[:-5]) + "\n" + lines[-5][:40], encoding="utf-8")  # killed mid-write
        before = len(server.requests)
        again = run_cli(*args, cwd=tmp_path)
        assert again.returncode == 0, again.stderr[-2000:]
        assert exam_requests(server, before) == 5
        assert json.loads(again.stdout)["models"][0]["overall"] == summary["overall"]


def test_compare_reports_mcnemar_and_bootstrap_between_two_endpoints(tmp_path: Path) -> None:
    with FakeOpenAIServer() as first, FakeOpenAIServer(FakeServerConfig(seed=7)) as second:
        build_set(first, tmp_path, tmp_path / "set", "--kind", "single_choice", "--kind", "true_false")
        result = run_cli(
            "eval", "--set", str(tmp_path / "set"), "--model", "base", "--base-url", first.base_url,
            "--compare", "tuned", "--compare-base-url", second.base_url, "--out", str(tmp_path / "cmp"), "--json",
            cwd=tmp_path,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    comparison = report["comparison"]
    assert [m["model"] for m in report["models"]] == [f"{first.base_url}/base", f"{second.base_url}/tuned"]
    exact = comparison["exact_match"]
    assert exact["a_only"] + exact["b_only"] + exact["both"] + exact["neither"] == comparison["items"]
    assert 0 < exact["p_value"] <= 1 and comparison["judged"] is None
    overall = comparison["overall"]
    assert overall["low"] <= overall["difference"] <= overall["high"]
    b, a = report["models"][1]["overall"]["mean_score"], report["models"][0]["overall"]["mean_score"]
    assert overall["difference"] == pytest.approx(b - a, abs=1e-9)
    assert "McNemar exact p" in (tmp_path / "cmp" / "report.md").read_text(encoding="utf-8")


def test_bad_input_is_a_clear_usage_error(tmp_path: Path) -> None:
    missing = run_cli("eval", "--set", str(tmp_path / "nowhere"), "--model", "m", cwd=tmp_path)
    assert missing.returncode == 2 and "eval-set build" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "not-a-set").mkdir()
    empty = run_cli(
        "eval",
        "--set",
        str(tmp_path / "not-a-set"),
        "--model",
        "m",
        "--base-url",
        "http://127.0.0.1:9/v1",
        cwd=tmp_path,
    )
    assert empty.returncode == 2 and "no items.jsonl" in empty.stderr and "Traceback" not in empty.stderr
    nothing = run_cli("eval-set", "build", str(tmp_path / "absent.md"), "--out", str(tmp_path / "s"), cwd=tmp_path)
    assert nothing.returncode == 2 and "not found" in nothing.stderr


def test_answers_of_another_set_are_never_mixed_in(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        build_set(server, tmp_path, tmp_path / "set", "--kind", "true_false")
        args = ["eval", "--model", "fake", "--base-url", server.base_url, "--out", str(tmp_path / "r")]
        assert run_cli(*args, "--set", str(tmp_path / "set"), cwd=tmp_path).returncode == 0
        shutil.copytree(tmp_path / "set", tmp_path / "other")
        lines = (tmp_path / "other" / "items.jsonl").read_text(encoding="utf-8").splitlines()
        (tmp_path / "other" / "items.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
        mixed = run_cli(*args, "--set", str(tmp_path / "other"), cwd=tmp_path)
        assert mixed.returncode == 2 and "another evaluation set" in mixed.stderr
        assert run_cli(*args, "--set", str(tmp_path / "other"), "--fresh", cwd=tmp_path).returncode == 0


def test_an_unreachable_endpoint_fails_every_item_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer() as server:
        build_set(server, tmp_path, tmp_path / "set", "--kind", "true_false")
    monkeypatch.setenv("FTDS_LLM__MAX_RETRIES", "0")
    result = run_cli(
        "eval", "--set", str(tmp_path / "set"), "--model", "gone", "--base-url", "http://127.0.0.1:9/v1",
        "--out", str(tmp_path / "r"), "--json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    summary = json.loads(result.stdout)["models"][0]
    assert summary["scored"] == 0 and summary["failed"] == summary["items"] > 0
    assert all(reason.startswith("llm_error") for reason in summary["failures"].values())


def test_a_used_folder_is_refused_then_replaced_exactly_with_overwrite(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        build_set(server, tmp_path, tmp_path / "set")
        (tmp_path / "set" / "notes.txt").write_text("mine", encoding="utf-8")
        again = run_cli(
            "eval-set", "build", str(LAW), "--out", str(tmp_path / "set"), *fake_llm_flags(server), cwd=tmp_path
        )
        assert again.returncode == 2 and "already holds" in again.stderr and "--overwrite" in again.stderr
        build_set(server, tmp_path, tmp_path / "set", "--kind", "true_false", "--overwrite")
    assert not (tmp_path / "set" / "exports" / "evalscope" / "mcq" / "single_choice_val.jsonl").exists()
    assert (tmp_path / "set" / "exports" / "evalscope" / "mcq" / "true_false_val.jsonl").is_file()
    assert (tmp_path / "set" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_holdout_from_a_build_run_leaves_out_its_sections_and_audits_its_samples(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        built = run_cli(
            "build", str(LAW), "--out", str(tmp_path / "ds"), "--max-chunks", "2", "--questions-per-chunk", "2",
            "--no-labels", *fake_llm_flags(server), "--json", cwd=tmp_path,
        )  # fmt: skip
        assert built.returncode in (0, 3), built.stderr[-2000:]
        run_id = json.loads(built.stdout)["run_id"]
        info = build_set(server, tmp_path, tmp_path / "set", "--holdout-from", run_id, "--holdout", "section")
    trained = [json.loads(line) for p in (tmp_path / "ds" / "provenance").glob("*.jsonl") for line in p.open()]
    audit = json.loads((tmp_path / "set" / "audit.json").read_text(encoding="utf-8"))
    assert audit["training_records"] == len(trained) > 0 and audit["holdout"] == "section"
    sections = {tuple(s["provenance"]["heading_path"]) for s in trained}
    items = [json.loads(line) for line in (tmp_path / "set" / "items.jsonl").open()]
    assert items and not {tuple(i["provenance"]["heading_path"]) for i in items} & sections
    held = [e for e in audit["excluded"] if e["reason"] == "eval:holdout_section"]
    assert held and info["rejection_reasons"]["eval:holdout_section"] == len(held)
