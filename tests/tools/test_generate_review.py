import json
from pathlib import Path

import pytest

from ftds.tools.config import BuildSettings
from ftds.tools.generation.generate import QAPairs, generate_qa, question_count, without_json_debris
from ftds.tools.generation.review import lexical_support, review_samples
from ftds.tools.generation.structured import parse_reply
from ftds.tools.ingest import load_literature
from ftds.tools.llm.base import LLMError
from ftds.tools.records import Chunk
from tests.fakes.scripted_chat import ScriptedChatModel


@pytest.fixture
def chunk(law_file: Path) -> Chunk:
    chunks = load_literature([law_file], domain="law").chunks
    return next(c for c in chunks if "第二十一条" in c.text)


def _pairs(*pairs: tuple[str, str]) -> str:
    return json.dumps({"pairs": [{"question": q, "answer": a} for q, a in pairs]}, ensure_ascii=False)


def _reviews(*scores: int) -> str:
    return json.dumps(
        {
            "reviews": [
                {
                    "index": i,
                    "grounded": s,
                    "question": s,
                    "answer": s,
                    "language": s,
                    "rationale": "r",
                    "feedback": "",
                }
                for i, s in enumerate(scores, 1)
            ]
        }
    )


async def test_generation_prompt_carries_chunk_headings_and_domain_guidance(chunk: Chunk) -> None:
    model = ScriptedChatModel([_pairs(("数据分类分级保护制度由谁建立？", "国家建立数据分类分级保护制度。"))])
    result = await generate_qa(chunk, model, BuildSettings(domain="law"))
    sent = model.history[0]["messages"][1]["content"]
    assert chunk.text.strip()[:50] in sent
    assert " > ".join(chunk.provenance.heading_path) in sent
    assert "条文" in sent  # the law preset's guidance
    schema = model.history[0]["json_schema"]
    assert schema["required"] == ["pairs"]
    assert schema["properties"]["pairs"]["minItems"] == schema["properties"]["pairs"]["maxItems"] >= 1
    assert len(result.samples) == 1
    sample = result.samples[0]
    assert sample.provenance == chunk.provenance
    assert sample.prompt_version == "qa_generate.zh@5"
    assert sample.language == "zh"


async def test_unparseable_reply_is_retried_with_the_error_shown(chunk: Chunk) -> None:
    model = ScriptedChatModel(
        ["Sorry, here are questions: none", _pairs(("数据安全是什么意思？", "确保数据处于有效保护状态。"))]
    )
    result = await generate_qa(chunk, model)
    assert result.failure is None and len(result.samples) == 1
    retry_turn = model.history[1]["messages"][-1]["content"]
    assert "could not be used" in retry_turn
    assert result.usage.calls == 2


async def test_two_bad_replies_become_a_recorded_failure_with_raw_output(chunk: Chunk) -> None:
    model = ScriptedChatModel(["not json", "still not json"])
    result = await generate_qa(chunk, model)
    assert result.samples == []
    assert result.failure is not None
    assert result.failure.reason == "generation:unparseable"
    assert "still not json" in result.failure.detail


async def test_backend_error_becomes_a_recorded_failure(chunk: Chunk) -> None:
    result = await generate_qa(chunk, ScriptedChatModel([LLMError("endpoint answered HTTP 503")]))
    assert result.failure is not None and result.failure.reason == "generation:llm_error"
    assert "503" in result.failure.detail


async def test_reasoning_content_is_kept_on_samples(chunk: Chunk) -> None:
    model = ScriptedChatModel(
        [_pairs(("数据分类分级保护制度由谁建立？", "国家建立数据分类分级保护制度。"))],
        reasoning="先找到第二十一条。",
    )
    result = await generate_qa(chunk, model)
    assert result.samples[0].reasoning == "先找到第二十一条。"


def test_question_count_scales_with_chunk_length(chunk: Chunk) -> None:
    short = chunk.model_copy(update={"text": "短" * 100})
    long = chunk.model_copy(update={"text": "长" * 5000})
    assert question_count(short, BuildSettings()) == 1
    assert question_count(long, BuildSettings()) == BuildSettings().max_questions_per_chunk
    assert question_count(long, BuildSettings(questions_per_chunk=2)) == 2


async def test_review_accepts_rejects_and_prechecks_with_reasons(chunk: Chunk) -> None:
    good = "国家建立数据分类分级保护制度，根据数据在经济社会发展中的重要程度进行分类分级保护。"
    gen = ScriptedChatModel(
        [
            _pairs(
                ("国家对数据实行什么保护制度？", good),
                ("数据分级的依据是什么？", good),
                ("", "空问题"),
                ("What is the data classification system?", "The state protects data by category and level."),
                ("数据安全法的立法目的是什么？", "今天天气很好，我们去公园散步吧，顺便买点水果。"),
            )
        ]
    )
    generated = await generate_qa(chunk, gen)
    reviewer = ScriptedChatModel([_reviews(5, 2)])
    review = await review_samples(chunk, generated.samples, reviewer, BuildSettings(accept_threshold=0.6))
    reasons = sorted(item.reason for item in review.rejected)
    assert reasons == ["precheck:empty", "precheck:unsupported", "review:below_threshold"]
    # the English pair is a failure of form a rewrite can mend: sent to revision with the pre-check's feedback
    [flagged] = review.to_revise.values()
    assert flagged.reviewer == "precheck" and flagged.rationale == "precheck:wrong_language"
    assert "中文" in flagged.feedback
    assert len(review.verdicts) == 1
    verdict = next(iter(review.verdicts.values()))
    assert verdict.decision == "accept" and verdict.total == 1.0
    # only the two samples that passed the pre-check went to the reviewer, in one call
    assert len(reviewer.history) == 1
    assert reviewer.history[0]["messages"][1]["content"].count(" Q: ") == 2


async def test_pairs_the_reviewer_skipped_are_reviewed_again_once(chunk: Chunk) -> None:
    text = "国家建立数据分类分级保护制度，根据数据在经济社会发展中的重要程度进行分类分级保护。"
    pairs = _pairs(("国家建立的数据保护制度是什么？", text), ("数据分类分级保护的依据是什么？", text))
    generated = await generate_qa(chunk, ScriptedChatModel([pairs]))
    reviewer = ScriptedChatModel([_reviews(5), _reviews(4)])
    review = await review_samples(chunk, generated.samples, reviewer)
    assert len(review.verdicts) == 2 and not review.failed
    second_prompt = reviewer.history[1]["messages"][1]["content"]
    assert "依据是什么" in second_prompt and "国家建立的" not in second_prompt
    assert reviewer.history[1]["json_schema"]["properties"]["reviews"]["maxItems"] == 1


async def test_a_pair_skipped_twice_is_a_recorded_failure_not_a_loss(chunk: Chunk) -> None:
    text = "国家建立数据分类分级保护制度，根据数据在经济社会发展中的重要程度进行分类分级保护。"
    pairs = _pairs(("国家建立的数据保护制度是什么？", text), ("数据分类分级保护的依据是什么？", text))
    generated = await generate_qa(chunk, ScriptedChatModel([pairs]))
    empty = json.dumps({"reviews": []})
    review = await review_samples(chunk, generated.samples, ScriptedChatModel([_reviews(5), empty]))
    assert len(review.verdicts) == 1
    assert [f.reason for f in review.failed] == ["review:missing_score"]


def test_lexical_support_measures_overlap() -> None:
    source = "国家建立数据分类分级保护制度"
    assert lexical_support("数据分类分级保护", source, "zh") == 1.0
    assert lexical_support("天气很好", source, "zh") == 0.0


def test_citations_are_compared_as_numbers_whatever_the_numerals() -> None:
    from ftds.tools.generation.citations import cited_articles, invented_citations

    source = "第一百九十七条 有下列情形之一的……第二十一条 国家建立数据分类分级保护制度。"
    assert cited_articles(source) == {197, 21}
    assert invented_citations("依据第197条和第21条", source) == set()
    assert invented_citations("依据第199条", source) == {199}
    assert cited_articles("Article 5 and § 12 of the Act") == {5, 12}


async def test_an_answer_citing_an_article_absent_from_the_source_is_rejected(chunk: Chunk) -> None:
    good = "国家建立数据分类分级保护制度，根据数据在经济社会发展中的重要程度进行分类分级保护。"
    generated = await generate_qa(
        chunk,
        ScriptedChatModel(
            [
                _pairs(
                    ("国家对数据实行什么保护制度？", "依据第二十一条，" + good),
                    ("数据分级的依据是什么？", "依据第197条，" + good),
                )
            ]
        ),
    )
    review = await review_samples(chunk, generated.samples, ScriptedChatModel([_reviews(5)]))
    assert [item.reason for item in review.rejected] == ["precheck:invented_citation"]
    assert len(review.verdicts) == 1


async def test_critique_of_a_statement_asks_for_a_rewrite_without_a_model_call(chunk: Chunk) -> None:
    from ftds.tools.generation.review import critique_pairs

    good = "国家建立数据分类分级保护制度，根据数据在经济社会发展中的重要程度进行分类分级保护。"
    reviewer = ScriptedChatModel([_reviews(5)])
    critiques, _ = await critique_pairs(
        chunk, [("国家建立数据分类分级保护制度", good), ("国家实行什么制度？", good)], reviewer
    )
    assert [c.decision for c in critiques] == ["revise", "accept"]
    assert critiques[0].reason == "precheck:not_a_question" and "问题" in critiques[0].feedback
    assert reviewer.history[0]["messages"][1]["content"].count(" Q: ") == 1


async def test_a_glued_question_mark_and_an_answer_inside_its_question_are_caught_before_review(chunk: Chunk) -> None:
    # both seen from the embedded 1.5B when asked to turn a statement into a question
    answer = "国家建立数据分类分级保护制度，根据数据在经济社会发展中的重要程度进行分类分级保护。"
    gen = ScriptedChatModel(
        [_pairs(("数据安全法第二十一条规定，" + answer + "？", answer), ("数据安全法规定了什么保护制度？", answer))]
    )
    generated = await generate_qa(chunk, gen)
    reviewer = ScriptedChatModel([_reviews(5)])
    review = await review_samples(chunk, generated.samples, reviewer)
    [glued] = review.to_revise.values()
    assert glued.rationale == "precheck:not_a_question"  # "…保护。？" is a statement with a mark glued on
    circular = generated.samples[0].model_copy(update={"question": "为什么说" + answer.rstrip("。") + "？"})
    review = await review_samples(chunk, [circular], ScriptedChatModel([]))
    assert [r.reason for r in review.rejected] == ["precheck:answer_in_question"]


def test_json_a_model_closed_with_a_curly_quote_is_cut_from_the_answer() -> None:
    """Round 14's reply, as the 1.5B wrote it: ” in place of the closing ", so the answer string ran on into
    the object's brackets. The parsed pair keeps the answer, not the brackets."""
    reply = (
        '{"pairs": [{"evidence": "Cards may be used solely for purchases.", "question": "What may the cards be'
        ' used for?", "answer": "Cards may be used solely for purchases.”}, {" },{ "evidence": "No cash.", '
        '"question": "May cash advances be obtained?", "answer": "No cash advances may be obtained.”}]}'
    )
    pairs = parse_reply(reply, QAPairs).pairs
    assert [p.answer for p in pairs] == ["Cards may be used solely for purchases.", "No cash advances may be obtained."]
    assert without_json_debris("它被称为“信托卡”") == "它被称为“信托卡”"  # a quotation opened and closed stays
