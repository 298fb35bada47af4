"""Evaluation items: the records, the answer-key and distractor checks, true/false balance, difficulty spread,
and generation from a chunk with a scripted model (every draft accounted for)."""

import json

import pytest
from pydantic import ValidationError

from ftds.tools.config import BuildSettings, EvaluationSettings
from ftds.tools.evaluation.checks import balance_true_false, check_answer_key, difficulty_spread, vet_item
from ftds.tools.evaluation.evidence import claim_supported, locate_quote
from ftds.tools.evaluation.generate import generate_eval_items, rejected_items
from ftds.tools.evaluation.items import (
    MultipleChoiceItem,
    OpenItem,
    ShortAnswerItem,
    SingleChoiceItem,
    TrueFalseItem,
    item_text,
    parse_item,
)
from ftds.tools.records import Chunk, Provenance
from tests.fakes.scripted_chat import ScriptedChatModel

TEXT = (
    "第二十一条 国家建立数据分类分级保护制度。\n"
    "第二十二条 重要数据的处理者应当按照规定对其数据处理活动定期开展风险评估，并向有关主管部门报送风险评估报告。\n"
    "第二十三条 发生数据安全事件，应当立即采取处置措施，按照规定及时告知用户并向有关主管部门报告。"
)
OFFSET = 100  # the chunk starts here in its document


def chunk() -> Chunk:
    provenance = Provenance(
        source="law.md",
        char_start=OFFSET,
        char_end=OFFSET + len(TEXT),
        heading_path=["数据安全法", "第三章 数据安全制度"],
        chunk_id="c1",
    )
    return Chunk(chunk_id="c1", doc_id="d1", index=0, text=TEXT, provenance=provenance)


def common(kind: str) -> dict:
    return {
        "item_id": f"i-{kind}",
        "domain": "law",
        "language": "zh",
        "provenance": chunk().provenance,
        "model": "fake/scripted",
        "prompt_version": "test",
    }


def single(options: list[str], answer: str = "A") -> SingleChoiceItem:
    return SingleChoiceItem(
        **common("single_choice"), question="重要数据的处理者应当定期开展什么？", options=options, answer=answer
    )


def test_every_kind_reads_back_as_its_own_class_from_json() -> None:
    items = [
        single(["风险评估", "财务审计", "人员培训"]),
        MultipleChoiceItem(
            **common("multiple_choice"), question="q?", options=["a", "b", "c"], answers=["C", "A", "A"]
        ),
        TrueFalseItem(**common("true_false"), question="国家建立数据分类分级保护制度。", answer=True),
        ShortAnswerItem(**common("short_answer"), question="q?", answer="风险评估", accepted=["风险评估报告"]),
        OpenItem(**common("open"), question="q?", reference_answer="r", rubric=["p1"]),
    ]
    for item in items:
        again = parse_item(json.loads(item.model_dump_json()))
        assert type(again) is type(item) and again == item
    assert items[1].answers == ["A", "C"]  # sorted, unique
    assert "B. 财务审计" in item_text(items[0]) and "A. 风险评估" in item_text(items[0])


def test_an_answer_letter_outside_the_options_is_refused() -> None:
    with pytest.raises(ValidationError, match="not among the options"):
        single(["风险评估", "财务审计"], answer="D")


def test_evidence_is_located_exactly_or_nearly_with_document_offsets() -> None:
    exact = locate_quote(chunk(), "国家建立数据分类分级保护制度")
    assert exact is not None and exact.match == "exact"
    assert TEXT[exact.char_start - OFFSET : exact.char_end - OFFSET] == exact.text
    near = locate_quote(
        chunk(), "第二十三条 发生数据安全事件，应当立刻采取处置措施，按照规定及时告知用户并向有关主管部门报告。"
    )
    assert near is not None and near.match == "near" and near.text.startswith("第二十三条")
    assert locate_quote(chunk(), "个人信息处理者应当取得个人同意") is None


def test_a_claim_with_a_changed_number_or_negation_is_not_supported() -> None:
    assert claim_supported("国家建立数据分类分级保护制度", TEXT)
    assert not claim_supported("国家不建立数据分类分级保护制度。", TEXT)
    assert not claim_supported("重要数据的处理者应当每3年开展风险评估", TEXT)


def test_a_distractor_that_the_evidence_holds_is_dropped_and_options_relettered() -> None:
    item = single(["风险评估", "财务审计", "人员培训", "报送风险评估报告"], answer="A")
    quote = "重要数据的处理者应当按照规定对其数据处理活动定期开展风险评估，并向有关主管部门报送风险评估报告。"
    vetted, rejection = vet_item(item, chunk(), quote)
    assert rejection is None
    assert isinstance(vetted, SingleChoiceItem)
    assert vetted.options == ["风险评估", "财务审计", "人员培训"] and vetted.answer == "A"
    distractors = next(c for c in vetted.checks if c.name == "distractors")
    assert "D: occurs in the evidence" in distractors.detail
    assert vetted.evidence[0].char_start >= OFFSET


def test_a_distractor_the_source_supports_elsewhere_rejects_a_small_item() -> None:
    item = single(["定期开展风险评估", "发生数据安全事件，应当立即采取处置措施", "以上都对"], answer="A")
    _, rejection = vet_item(item, chunk(), "对其数据处理活动定期开展风险评估")
    assert rejection is not None and rejection.reason == "eval:distractors"
    assert "supported by the source" in rejection.detail and "generic" in rejection.detail


def test_a_key_missing_from_its_evidence_fails_the_answer_key_check() -> None:
    item = single(["数据出境审批", "风险评估", "人员培训"], answer="A")
    result = check_answer_key(item, chunk(), "对其数据处理活动定期开展风险评估")
    assert not result.passed and "key A" in result.detail
    garbled = single(["风险评估", "审计", "培训"])
    found = check_answer_key(garbled, chunk(), "这句话不在资料里面出现过")
    assert found.passed and garbled.evidence[0].match == "near"  # located from the key itself
    assert "风险评估" in garbled.evidence[0].text and garbled.evidence[0].text.startswith("第二十二条")
    lost = check_answer_key(single(["数据出境审批", "审计", "培训"]), chunk(), "这句话不在资料里面出现过")
    assert not lost.passed and "neither the evidence quote nor the answer key" in lost.detail


def test_true_false_statements_are_checked_against_the_source() -> None:
    false_but_supported = TrueFalseItem(**common("true_false"), question="国家建立数据分类分级保护制度。", answer=False)
    _, rejection = vet_item(false_but_supported, chunk(), "国家建立数据分类分级保护制度。")
    assert rejection is not None and "actually supports" in rejection.detail
    true_unsupported = TrueFalseItem(**common("true_false"), question="国家不建立数据分类分级保护制度。", answer=True)
    _, rejection = vet_item(true_unsupported, chunk(), "国家建立数据分类分级保护制度。")
    assert rejection is not None and "does not support" in rejection.detail
    good_false = TrueFalseItem(**common("true_false"), question="国家不建立数据分类分级保护制度。", answer=False)
    assert vet_item(good_false, chunk(), "国家建立数据分类分级保护制度。")[1] is None


def test_a_short_answer_inside_its_question_is_rejected() -> None:
    item = ShortAnswerItem(**common("short_answer"), question="风险评估是谁开展的风险评估？", answer="风险评估")
    _, rejection = vet_item(item, chunk(), "定期开展风险评估")
    assert rejection is not None and "already contains its answer" in rejection.detail


def test_true_false_balance_drops_the_surplus_with_a_reason() -> None:
    items = [
        TrueFalseItem(**{**common("true_false"), "item_id": f"t{n}"}, question=f"s{n}", answer=n < 3) for n in range(4)
    ]
    kept, surplus = balance_true_false(items, seed=1)
    assert sum(i.answer for i in kept) == sum(not i.answer for i in kept) == 1
    assert len(surplus) == 2 and all(i.rejection and i.rejection.reason == "eval:true_false_surplus" for i in surplus)


def test_difficulty_spread_fails_when_one_level_dominates() -> None:
    easy = [TrueFalseItem(**{**common("true_false"), "item_id": f"e{n}"}, question="s", answer=True) for n in range(6)]
    for item in easy:
        item.difficulty = "easy"
    table, check = difficulty_spread(easy)
    assert table == {"easy": 6, "medium": 0, "hard": 0} and not check.passed
    easy[0].difficulty, easy[1].difficulty, easy[2].difficulty = "medium", "hard", "medium"
    assert difficulty_spread(easy)[1].passed


CHOICE_REPLY = json.dumps(
    {
        "choice_items": [
            {
                "question": "重要数据的处理者应当定期开展什么活动？",
                "options": ["A. 风险评估", "B. 财务审计", "C. 人员培训", "D. 年度体检"],
                "answers": ["A"],
                "difficulty": "易",
                "evidence": "对其数据处理活动定期开展风险评估",
            },
            {
                "question": "发生数据安全事件后应当怎么做？",
                "options": ["立即采取处置措施", "按照规定及时告知用户", "等待一年再处理", "删除全部数据"],
                "answers": ["AB"],
                "difficulty": "hard",
                "evidence": "应当立即采取处置措施，按照规定及时告知用户",
            },
            {
                "question": "国家建立什么制度？",
                "options": ["数据出境审批制度", "数据分类分级保护制度", "数据登记制度"],
                "answers": ["A"],
                "difficulty": "medium",
                "evidence": "国家建立数据分类分级保护制度",
            },
            {
                "question": "谁应当报送风险评估报告？",
                "options": ["重要数据的处理者", "个人", "法院"],
                "answers": ["第一项"],
                "evidence": "重要数据的处理者",
            },
        ]
    },
    ensure_ascii=False,
)


async def test_generation_vets_every_draft_and_accounts_for_the_rest() -> None:
    llm = ScriptedChatModel([CHOICE_REPLY, "not json", "still not json"])
    settings = EvaluationSettings(items_per_kind=2)
    items, outcomes = await generate_eval_items(
        chunk(),
        llm,
        BuildSettings(domain="law"),
        ["single_choice", "multiple_choice", "true_false"],
        evaluation=settings,
    )
    kinds = sorted(i.kind for i in items)
    assert kinds == ["multiple_choice", "single_choice"]
    first = next(i for i in items if isinstance(i, SingleChoiceItem))
    assert first.options[0] == "风险评估" and first.difficulty == "easy" and first.label == "第三章 数据安全制度"
    assert first.evidence and first.evidence[0].text == "对其数据处理活动定期开展风险评估"
    multi = next(i for i in items if isinstance(i, MultipleChoiceItem))
    assert multi.answers == ["A", "B"]
    rejected = [o for o in outcomes if o.status == "rejected"]
    failed = [o for o in outcomes if o.status == "failed"]
    # the key "数据出境审批制度" is not the source's; "第一项" names no option letter
    assert [o.reason for o in rejected] == ["eval:answer_key", "eval:no_answer_key"]
    assert [o.reason for o in failed] == ["eval:unparseable"] and failed[0].detail.startswith("eval_true_false")
    assert [i.question for i in rejected_items(outcomes)] == ["国家建立什么制度？"]
    prompt = llm.history[0]["messages"][1]["content"]
    assert "2 道单选题和 2 道多选题" in prompt and TEXT in prompt


async def test_unknown_kinds_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown evaluation item kinds"):
        await generate_eval_items(chunk(), ScriptedChatModel([]), None, ["essay"])  # type: ignore[list-item]


async def test_a_finished_set_accounts_for_every_draft(tmp_path) -> None:
    from ftds.tools.config import Settings
    from ftds.tools.evaluation.build import finish_eval_set
    from ftds.tools.evaluation.store import load_eval_set

    llm = ScriptedChatModel([CHOICE_REPLY])
    items, outcomes = await generate_eval_items(chunk(), llm, BuildSettings(), ["single_choice", "multiple_choice"])
    done = finish_eval_set(tmp_path / "set", items, outcomes, Settings(), name="t", chunks_used=1)
    info, audit = done.info, done.audit
    rejected_lines = (tmp_path / "set" / "rejected.jsonl").read_text(encoding="utf-8").splitlines()
    assert info.generated == info.items + info.rejected == 4
    assert len(rejected_lines) + len(info.draft_rejections) == info.rejected == 2
    assert [o.reason for o in info.draft_rejections] == ["eval:no_answer_key"]
    assert len(load_eval_set(tmp_path / "set")) == info.items == audit.items_kept == 2


async def test_a_repeated_draft_is_rejected_once_not_kept_twice() -> None:
    statement = {
        "statement": "国家建立数据分类分级保护制度。",
        "answer": True,
        "evidence": "国家建立数据分类分级保护制度",
    }
    reply = json.dumps({"statements": [statement, statement]}, ensure_ascii=False)
    items, outcomes = await generate_eval_items(chunk(), ScriptedChatModel([reply]), BuildSettings(), ["true_false"])
    assert len(items) == 1
    assert [o.reason for o in outcomes] == ["eval:repeated_draft"]


def test_an_answer_given_as_the_text_of_an_option_past_the_last_letter_is_no_key() -> None:
    from ftds.tools.evaluation.generate import _letters

    options = [f"option {n}" for n in range(12)]
    # the 11th option has no letter: it cannot be the key (this raised IndexError and lost the chunk)
    assert _letters(["option 11"], options) == []
    assert _letters(["option 2"], options) == ["C"]
