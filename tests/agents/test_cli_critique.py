"""``ftds-agent critique``: audit pairs written elsewhere against their documents, in a subprocess, with the
FAKE OpenAI-compatible server as reviewer (round trip and judge); the checks themselves are real."""

import json
from pathlib import Path

from tests.conftest import fake_llm_flags, run_cli
from tests.fakes.fake_openai_server import FakeOpenAIServer

ARTICLE_148 = "面额股股票的发行价格可以按票面金额，也可以超过票面金额，但不得低于票面金额。"


def _pairs(path: Path, pairs: list[dict[str, str]]) -> Path:
    path.write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in pairs) + "\n", encoding="utf-8")
    return path


def test_critique_gives_one_verdict_per_pair_with_evidence_and_checks(tmp_path: Path, corpus: Path) -> None:
    law = corpus / "law_zh" / "公司法(2023-12-29).md"
    pairs = _pairs(
        tmp_path / "pairs.jsonl",
        [
            {"question": "面额股股票的发行价格可以低于票面金额吗？", "answer": "不可以。" + ARTICLE_148},
            {"instruction": "什么是面额股？", "input": "", "output": "面额股是公司签发的证明股东所持股份的凭证。"},
            {"question": "公司法对人工智能有什么规定？", "answer": "人工智能企业应当每年向国家网信部门报送算法备案。"},
        ],
    )
    with FakeOpenAIServer() as server:
        result = run_cli(
            "critique", str(pairs), "--source", str(law), "--out", str(tmp_path / "v.jsonl"),
            *fake_llm_flags(server), "--json", cwd=tmp_path,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["pairs"], summary["accept"], summary["reject"], summary["failed"]) == (3, 1, 2, 0)
    verdicts = [json.loads(line) for line in (tmp_path / "v.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [v["index"] for v in verdicts] == [1, 2, 3]
    good, mianegu, unknown = verdicts
    assert good["decision"] == "accept" and good["source"] == law.name
    document = law.read_text(encoding="utf-8")
    span = good["evidence"][0]
    assert ARTICLE_148 in span["text"] and document.count(ARTICLE_148) == 1
    assert mianegu["reason"] == "check:key_terms" and "面额股" in mianegu["rationale"]
    assert unknown["decision"] == "reject" and unknown["reason"].startswith("check:")
    assert "人工智能" not in document


def test_critique_with_unreadable_pairs_is_bad_input(tmp_path: Path, corpus: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q"}\n', encoding="utf-8")
    result = run_cli(
        "critique", str(bad), "--source", str(corpus / "law_zh"), "--out", str(tmp_path / "v.jsonl"), cwd=tmp_path
    )
    assert result.returncode == 2
    assert "record 1 has no question/answer" in result.stderr and "Traceback" not in result.stderr
    missing = run_cli("critique", str(bad), "--source", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_an_answer_bar_outside_zero_to_one_is_bad_usage(tmp_path: Path, corpus: Path) -> None:
    """The two answer-check bars reach the build settings, whose bounds say what is wrong."""
    pairs = _pairs(
        tmp_path / "pairs.jsonl", [{"question": "面额股股票的发行价格可以低于票面金额吗？", "answer": "不可以。"}]
    )
    for flag in ("--min-answer-probability", "--min-unconfirmed-probability"):
        result = run_cli("critique", str(pairs), "--source", str(corpus / "law_zh"), flag, "1.5", cwd=tmp_path)
        assert result.returncode == 2, (flag, result.stderr)
        assert "probability" in result.stderr and "Traceback" not in result.stderr
