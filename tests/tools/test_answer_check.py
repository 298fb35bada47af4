"""The answer check: the reviewer's P(yes) that an answer answers its question, read from token probabilities.

Real backends throughout: the embedded model's logits (the 0.5B the test command installs), and the
OpenAI-compatible client against the FAKE server, which sends ``logprobs`` the way OpenAI and vLLM do (or, set
up as a server that ignores them, sends none).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ftds.tools.config import BuildSettings, LLMSettings, Settings
from ftds.tools.generation.answer_check import answer_checks, can_score
from ftds.tools.generation.checks import count_checks, run_code_checks
from ftds.tools.generation.review import review_samples
from ftds.tools.generation.task_table import answer_check_called
from ftds.tools.llm import make_chat_model
from ftds.tools.llm.base import LLMError, Message, yes_no_score
from ftds.tools.records import Chunk, Provenance, Sample, TokenUsage, content_hash
from tests.conftest import MODEL_CACHE, fake_llm_overrides
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig
from tests.fakes.scripted_chat import ScriptedChatModel

SET = Path(__file__).resolve().parents[2] / "bench" / "data" / "critique_set.jsonl"
ROWS = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]

ARTICLE = "第四十二条 有限责任公司由一个以上五十个以下股东出资设立。"


def _chunk(text: str = ARTICLE) -> Chunk:
    chunk_id = content_hash("公司法.md", "0", text)
    provenance = Provenance(source="公司法.md", char_start=0, char_end=len(text), chunk_id=chunk_id)
    return Chunk(chunk_id=chunk_id, doc_id="公司法.md", index=0, text=text, provenance=provenance)


def _sample(
    answer: str, chunk: Chunk, question: str = "有限责任公司由多少名股东出资设立？", language: str = "zh"
) -> Sample:
    sample = Sample(
        sample_id=content_hash(question, answer),
        question=question,
        answer=answer,
        domain="law",
        language=language,
        provenance=chunk.provenance,
        model="test",
        prompt_version="test",
    )
    run_code_checks(sample, chunk)
    return sample


class FakeScorer(ScriptedChatModel):
    """FAKE reviewer that scores yes/no from a table (answer -> P(yes)) and fails for answers it is told to."""

    def __init__(self, probabilities: dict[str, float], failing: tuple[str, ...] = ()) -> None:
        super().__init__([], auto_quote=True)
        self.probabilities, self.failing, self.scored = probabilities, failing, 0

    async def yes_probability(self, messages: list[Message]) -> Any:
        self.scored += 1
        prompt = messages[-1]["content"]
        answer = re.split(r"Proposed answer: |答案：", prompt)[-1].split("\n", 1)[0]
        if answer in self.failing:
            raise LLMError("the endpoint timed out")
        p_yes = self.probabilities[answer]
        return yes_no_score({"yes": p_yes, "no": 1 - p_yes}, TokenUsage(prompt_tokens=100, calls=1))


async def test_a_pair_passes_at_the_threshold_and_fails_below_it() -> None:
    chunk = _chunk()
    right, wrong = _sample("一个以上五十个以下。", chunk), _sample("五十个以上。", chunk)
    scorer = FakeScorer({right.answer: 0.93, wrong.answer: 0.61})
    checks, usage = await answer_checks(chunk, [right, wrong], scorer, "zh", BuildSettings(min_answer_probability=0.85))
    assert checks[right.sample_id].passed and checks[right.sample_id].detail == "P(yes) 0.9300 ≥ 0.85"
    assert not checks[wrong.sample_id].passed and checks[wrong.sample_id].detail == "P(yes) 0.6100 < 0.85"
    assert usage.calls == 2 and usage.prompt_tokens == 200


async def test_the_scorer_reads_the_located_evidence_not_the_chunk() -> None:
    chunk = _chunk("第四十一条 与本题无关的一句话。\n\n" + ARTICLE)
    sample = _sample("有限责任公司由一个以上五十个以下股东出资设立。", chunk)
    seen: list[str] = []

    class Recording(FakeScorer):
        async def yes_probability(self, messages: list[Message]) -> Any:
            seen.append(messages[-1]["content"])
            return await super().yes_probability(messages)

    await answer_checks(chunk, [sample], Recording({sample.answer: 0.9}), "zh", BuildSettings())
    assert "一个以上五十个以下" in seen[0] and "与本题无关" not in seen[0] and sample.question in seen[0]


async def test_the_english_prompt_shows_the_whole_chunk() -> None:
    """On the labelled set's English pairs the chunk separates correct from wrong better than the located
    evidence (AUC 0.80 against 0.72), so the English prompt shows it."""
    text = (
        "Section 1. An unrelated opening sentence.\n\n"
        "No Person shall be a Senator who shall not have attained to the Age of thirty Years."
    )
    chunk = _chunk(text)
    sample = _sample("Thirty years.", chunk, "What is the minimum age of a Senator?", language="en")
    seen: list[str] = []

    class Recording(FakeScorer):
        async def yes_probability(self, messages: list[Message]) -> Any:
            seen.append(messages[-1]["content"])
            return await super().yes_probability(messages)

    checks, _ = await answer_checks(chunk, [sample], Recording({sample.answer: 0.9}), "en", BuildSettings())
    assert "An unrelated opening sentence" in seen[0] and sample.question in seen[0]
    assert checks[sample.sample_id].detail == "P(yes) 0.9000 ≥ 0.8"  # the English prompt's measured threshold


async def test_a_failed_scoring_request_fails_its_sample_only_and_a_backend_without_scores_is_not_counted() -> None:
    chunk = _chunk()
    one, two = _sample("一个以上五十个以下。", chunk), _sample("一个以上、五十个以下的股东。", chunk)
    checks, _ = await answer_checks(
        chunk, [one, two], FakeScorer({two.answer: 0.97}, failing=(one.answer,)), "zh", BuildSettings()
    )
    assert not checks[one.sample_id].passed and "answers:llm_error" in checks[one.sample_id].detail
    assert checks[two.sample_id].passed
    plain = ScriptedChatModel([])  # replies with text only: no way to read token probabilities
    assert not can_score(plain)
    unscored, usage = await answer_checks(chunk, [one], plain, "zh", BuildSettings())
    assert unscored[one.sample_id].passed and unscored[one.sample_id].detail.startswith("not counted:")
    assert usage.calls == 0 and plain.history == []


def _labelled(pair_id: str) -> tuple[Chunk, Sample]:
    r = next(r for r in ROWS if r["id"] == pair_id)
    chunk_id = content_hash(r["source"], str(r["char_start"]), r["chunk"])
    provenance = Provenance(source=r["source"], char_start=r["char_start"], char_end=r["char_end"], chunk_id=chunk_id)
    chunk = Chunk(chunk_id=chunk_id, doc_id=r["source"], index=0, text=r["chunk"], provenance=provenance)
    sample = Sample(
        sample_id=r["id"],
        question=r["question"],
        answer=r["answer"],
        domain="law",
        language="zh",
        provenance=provenance,
        model=r["model"],
        prompt_version=r["prompt_version"],
    )
    return chunk, sample


async def test_the_review_rejects_a_low_scored_pair_for_the_answer_check_with_no_judge() -> None:
    r = next(r for r in ROWS if r["question"] == "劳动合同无效的条件是什么？" and r["origin"] == "synthetic")
    assert r["reason"] == "neighbouring_article"  # every word is in the chunk: the code checks pass it
    chunk, sample = _labelled(r["id"])
    scorer = FakeScorer({r["answer"]: 0.4})
    build = BuildSettings(round_trip=False)  # the answer check alone
    review = await review_samples(chunk, [sample], scorer, build, check_answers=True, call_judge=False)
    assert [(item.reason, item.detail.split(" | ")[0]) for item in review.rejected] == [
        ("check:answers", "P(yes) 0.4000 < 0.94")  # the threshold measured for the Chinese prompt
    ]
    assert scorer.scored == 1 and review.usage.calls == 1 and scorer.history == []  # one scoring request, no call
    assert count_checks([sample])["answers"] == {"passed": 0, "failed": 1, "not_counted": 0}


class QuotingScorer(FakeScorer):
    """FAKE reviewer whose round trip quotes the given sentences (the one after the answer, as the 1.5B did on
    this pair) and whose answer check scores from a table."""

    def __init__(self, probabilities: dict[str, float], quoted: list[str]) -> None:
        super().__init__(probabilities)
        self.auto_quote = False
        self._replies = [json.dumps({"quotes": [{"index": 1, "sentences": quoted}]}, ensure_ascii=False)]


NEXT_SENTENCE = "公司为董事投保责任保险或者续保后，董事会应当向股东会报告责任保险的投保金额、承保范围及保险费率等内容。"


async def test_a_pair_the_answer_check_is_sure_of_costs_no_round_trip() -> None:
    """Chinese: the threshold for an answer the round trip does not confirm is the answer check's own (measured
    over rounds 1-8), so a scored pair is decided by its score and the round trip is not called for it."""
    chunk, sample = _labelled("g-20a8a60d9336")  # correct; the 1.5B's round trip quoted the next sentence
    scorer = QuotingScorer({sample.answer: 0.96}, [NEXT_SENTENCE])
    review = await review_samples(chunk, [sample], scorer, BuildSettings(), check_answers=True, call_judge=False)
    assert sample.sample_id in review.verdicts
    trip = next(c for c in sample.checks if c.name == "round_trip")
    assert trip.passed and trip.detail.startswith("not counted: not run: P(yes) 0.9600 ≥ 0.94")
    assert scorer.history == [] and review.usage.calls == 1  # one scoring request, no generated reply
    assert count_checks([sample])["round_trip"] == {"passed": 0, "failed": 0, "not_counted": 1}
    answer = next(c for c in sample.checks if c.name == "answers")
    assert answer.score == pytest.approx(0.96)


@pytest.mark.parametrize(
    ("p_yes", "quoted", "kept"),
    [
        (0.97, [NEXT_SENTENCE], True),  # sure enough: kept without a round trip
        (0.945, [NEXT_SENTENCE], False),  # under the user's stricter bar and not confirmed
        (0.945, None, True),  # under it but confirmed: the round trip quotes the sample's own evidence
    ],
)
async def test_under_a_stricter_bar_for_unconfirmed_answers_the_round_trip_decides(
    p_yes: float, quoted: list[str] | None, kept: bool
) -> None:
    chunk, sample = _labelled("g-20a8a60d9336")
    probe = sample.model_copy(deep=True)
    run_code_checks(probe, chunk)
    own = [span.text for span in probe.evidence]  # what the code checks locate: a round trip quoting it confirms
    scorer = QuotingScorer({sample.answer: p_yes}, quoted or own)
    build = BuildSettings(min_unconfirmed_probability=0.95)
    review = await review_samples(chunk, [sample], scorer, build, check_answers=True, call_judge=False)
    trip = next(c for c in sample.checks if c.name == "round_trip")
    assert (sample.sample_id in review.verdicts) is kept
    if p_yes >= 0.95:
        assert trip.detail.startswith("not counted: not run") and scorer.history == []
    elif kept:
        assert trip.passed and "overlap" in trip.detail and len(scorer.history) == 1
    else:
        assert [item.reason for item in review.rejected] == ["check:round_trip"]
        assert not trip.passed and "overlap 0%" in trip.detail and "answer check P(yes) 0.9450 < 0.95" in trip.detail
    assert scorer.scored == 1


async def test_without_token_probabilities_or_a_stricter_threshold_the_round_trip_rejects(tmp_path: Path) -> None:
    chunk, sample = _labelled("g-20a8a60d9336")
    plain = ScriptedChatModel([_quote_reply([NEXT_SENTENCE])], auto_quote=False)  # no scores to read
    review = await review_samples(chunk, [sample], plain, BuildSettings(), check_answers=True, call_judge=False)
    assert [item.reason for item in review.rejected] == ["check:round_trip"]
    assert "answer check" not in review.rejected[0].detail  # rejected on the round trip alone
    # a user's scoring prompt that states no threshold for unconfirmed answers: the round trip's verdict stands
    packaged = Path(__file__).resolve().parents[2] / "prompts" / "qa_verify.zh.md"
    text = packaged.read_text(encoding="utf-8")
    (tmp_path / "qa_verify.zh.md").write_text(re.sub(r"(?m)^min_probability_unconfirmed:.*\n", "", text), "utf-8")
    chunk, sample = _labelled("g-20a8a60d9336")
    scorer = QuotingScorer({sample.answer: 0.99}, [NEXT_SENTENCE])
    review = await review_samples(
        chunk, [sample], scorer, BuildSettings(), prompt_dir=tmp_path, check_answers=True, call_judge=False
    )
    assert [item.reason for item in review.rejected] == ["check:round_trip"] and scorer.scored == 1


async def test_a_pair_the_answer_check_rejects_costs_no_round_trip() -> None:
    r = next(r for r in ROWS if r["question"] == "劳动合同无效的条件是什么？" and r["origin"] == "synthetic")
    chunk, sample = _labelled(r["id"])
    scorer = QuotingScorer({r["answer"]: 0.4}, [NEXT_SENTENCE])
    review = await review_samples(chunk, [sample], scorer, BuildSettings(), check_answers=True, call_judge=False)
    assert [item.reason for item in review.rejected] == ["check:answers"]
    assert scorer.history == [] and [c.name for c in sample.checks][-1] == "answers"


def _quote_reply(sentences: list[str]) -> str:
    return json.dumps({"quotes": [{"index": 1, "sentences": sentences}]}, ensure_ascii=False)


def test_the_answer_check_runs_for_the_embedded_reviewer_by_default() -> None:
    assert answer_check_called(Settings())
    remote = LLMSettings(backend="openai", model="m", base_url="http://localhost:1/v1")
    assert not answer_check_called(Settings(reviewer=remote))  # the judge is the remote reviewer's check
    assert answer_check_called(Settings(reviewer=remote, build=BuildSettings(answer_check="always")))
    assert not answer_check_called(Settings(build=BuildSettings(answer_check="never")))


async def test_an_openai_compatible_endpoint_is_scored_from_its_logprobs_and_cached(tmp_path: Path) -> None:
    chunk = _chunk()
    right, wrong = _sample("一个以上五十个以下。", chunk), _sample("三百个以上，由董事会决定。", chunk)
    with FakeOpenAIServer(FakeServerConfig()) as server:
        llm = make_chat_model(LLMSettings(**fake_llm_overrides(server), cache=True), tmp_path)
        try:
            assert can_score(llm)
            checks, usage = await answer_checks(chunk, [right, wrong], llm, "zh", BuildSettings())
            again, cached = await answer_checks(chunk, [right], llm, "zh", BuildSettings())
        finally:
            await llm.aclose()
        sent = [body for body in server.requests if body.get("logprobs")]
    assert checks[right.sample_id].detail == "P(yes) 0.9500 ≥ 0.94"
    assert checks[wrong.sample_id].detail == "P(yes) 0.1500 < 0.94"
    assert usage.calls == 2 and len(sent) == 2 and all(b["max_tokens"] == 1 and b["top_logprobs"] for b in sent)
    assert again[right.sample_id].passed and cached.calls == 0 and cached.cached_calls == 1


async def test_an_endpoint_that_sends_no_logprobs_gets_no_answer_check(tmp_path: Path) -> None:
    chunk = _chunk()
    sample = _sample("一个以上五十个以下。", chunk)
    with FakeOpenAIServer(FakeServerConfig(logprobs=False)) as server:
        llm = make_chat_model(LLMSettings(**fake_llm_overrides(server), cache=False), tmp_path)
        try:
            checks, _ = await answer_checks(chunk, [sample], llm, "zh", BuildSettings())
        finally:
            await llm.aclose()
    check = checks[sample.sample_id]
    assert check.passed and check.detail.startswith("not counted:") and "logprobs" in check.detail


@pytest.mark.embedded
async def test_the_real_embedded_model_scores_a_right_answer_above_a_wrong_one() -> None:
    chunk = _chunk()
    right, wrong = _sample("一个以上五十个以下股东。", chunk), _sample("二百个以上股东。", chunk)
    llm = make_chat_model(LLMSettings(model="qwen2.5-coder-0.5b", cache=False), MODEL_CACHE)
    try:
        assert can_score(llm)
        checks, usage = await answer_checks(chunk, [right, wrong], llm, "zh", BuildSettings(min_answer_probability=0.0))
        first = await llm.yes_probability([{"role": "user", "content": "Is 2 + 2 = 4? Answer yes or no."}])  # type: ignore[attr-defined]
    finally:
        await llm.aclose()

    def p_yes(sample: Sample) -> float:
        return float(checks[sample.sample_id].detail.split()[1])

    assert 0.0 < p_yes(wrong) < p_yes(right) < 1.0
    assert usage.calls == 2 and usage.prompt_tokens > 50 and usage.completion_tokens == 0
    assert first.probability > 0.5 and first.mass > 0.5
