"""The evidence checks on real cases of the hand-labelled critique set (bench/data/critique_set.jsonl).

Each case is a pair the embedded models really wrote (or one made wrong from a correct one, or quoted in
issue 14), with the chunk it was written from; the checks must pass the correct ones and fail the wrong
ones for the right reason. The LLM parts (round trip, judge) run against scripted FAKE models."""

import json
from pathlib import Path
from typing import Any

import pytest

from ftds.tools.build.steps import revision_exhausted
from ftds.tools.config import BuildSettings
from ftds.tools.generation.checks import (
    check_key_terms,
    check_question,
    count_checks,
    defines,
    dropped_condition,
    dropped_exception,
    first_failure,
    holder_for_what_is,
    names_nothing,
    penalty_for_what_is,
    restates_the_asked,
    run_code_checks,
)
from ftds.tools.generation.generate import generate_qa
from ftds.tools.generation.review import answer_in_question, lead_in_only, precheck, reference_only, review_samples
from ftds.tools.generation.revise import revise_samples
from ftds.tools.generation.round_trip import round_trip
from ftds.tools.ingest import load_documents
from ftds.tools.records import Chunk, EvidenceSpan, Provenance, Sample, content_hash
from tests.conftest import CORPUS
from tests.fakes.scripted_chat import ScriptedChatModel

SET = Path(__file__).resolve().parents[2] / "bench" / "data" / "critique_set.jsonl"
ROWS = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def row(question: str, answer_start: str = "", origin: str | None = None) -> dict[str, Any]:
    found = [
        r
        for r in ROWS
        if r["question"] == question
        and r["answer"].startswith(answer_start)
        and (origin is None or r["origin"] == origin)
    ]
    assert found, f"no pair {question!r} / {answer_start!r} in the labelled set"
    return found[0]


def chunk_of(r: dict[str, Any]) -> Chunk:
    chunk_id = content_hash(r["source"], str(r["char_start"]), r["chunk"])
    provenance = Provenance(source=r["source"], char_start=r["char_start"], char_end=r["char_end"], chunk_id=chunk_id)
    return Chunk(chunk_id=chunk_id, doc_id=r["source"], index=0, text=r["chunk"], provenance=provenance)


def sample_of(r: dict[str, Any], chunk: Chunk) -> Sample:
    return Sample(
        sample_id=r["id"],
        question=r["question"],
        answer=r["answer"],
        domain="law",
        language=r["language"],
        provenance=chunk.provenance,
        model=r["model"],
        prompt_version=r["prompt_version"],
    )


def checked(r: dict[str, Any]) -> tuple[Sample, dict[str, Any]]:
    chunk = chunk_of(r)
    sample = sample_of(r, chunk)
    results = run_code_checks(sample, chunk)
    return sample, {c.name: c for c in results}


def assert_correct_and_passing(question: str, answer_start: str = "", rounds: tuple[int, ...] = ()) -> None:
    """A generated pair labelled correct (in one of ``rounds``, when given) passes every code check."""
    r = row(question, answer_start, origin="generated")
    assert r["label"] == "correct" and (not rounds or r["round"] in rounds)
    _, checks = checked(r)
    assert all(check.passed for check in checks.values()), checks


def _quotes(*sentences: list[str]) -> str:
    return json.dumps(
        {"quotes": [{"index": i, "sentences": s} for i, s in enumerate(sentences, 1)]}, ensure_ascii=False
    )


def _reviews(count: int, score: int = 5) -> str:
    one = {"grounded": score, "question": score, "answer": score, "language": score, "rationale": "fine"}
    return json.dumps({"reviews": [{"index": i, **one} for i in range(1, count + 1)]})


def test_the_labelled_set_holds_its_chunks_at_their_document_offsets() -> None:
    """Every chunk of the set is the document text at its recorded offsets (the set can be rebuilt)."""
    handbook = CORPUS / "docs" / "doj_chapter13_trustee_handbook.docx"  # English from round 8 on
    held_here = SET.parent / "documents" / "law_zh"  # round 18: statutes the corpus lacks
    folders = [CORPUS / "law_zh", CORPUS / "law_en", handbook, held_here]
    documents = {d.source: d for d in load_documents(folders).documents}
    for r in ROWS:
        text = documents[r["source"]].text
        assert text[r["char_start"] : r["char_end"]] == r["chunk"], r["id"]
    assert {r["label"] for r in ROWS} == {"correct", "wrong"}
    assert all(r["reason"] for r in ROWS if r["label"] == "wrong")


def test_the_mianegu_pair_is_rejected_because_its_evidence_is_about_gupiao() -> None:
    """Issue 14: "什么是面额股？" answered with the statute's definition of 股票 — every word is in the source."""
    r = row("什么是面额股？", "面额股是公司签发", origin="issue14-demo")
    sample, checks = checked(r)
    assert checks["evidence"].passed
    assert [span.text for span in sample.evidence] == ["股票是公司签发的证明股东所持股份的凭证。"]
    assert not checks["key_terms"].passed and "面额股" in checks["key_terms"].detail


async def test_a_failed_check_rejects_before_the_judge_can_score_it() -> None:
    r = row("什么是面额股？", "面额股是公司签发", origin="issue14-demo")
    chunk = chunk_of(r)
    judge = ScriptedChatModel([_reviews(1, score=5)])  # would accept it with full marks
    review = await review_samples(chunk, [sample_of(r, chunk)], judge, BuildSettings())
    assert review.verdicts == {}
    assert [item.reason for item in review.rejected] == ["check:key_terms"]
    assert judge.history == [] and judge.quote_calls == []  # no model call was spent on it


async def test_evidence_offsets_point_into_the_cleaned_document() -> None:
    r = row("什么是非全日制用工？")
    assert r["label"] == "correct"
    sample, checks = checked(r)
    assert all(check.passed for check in checks.values())
    document = next(d for d in load_documents([CORPUS / r["document"]]).documents)
    for span in sample.evidence:
        assert document.text[span.char_start : span.char_end] == span.text
    assert "是指以小时计酬为主" in sample.evidence[0].text


def test_a_definition_question_answered_with_a_consequence_fails_key_terms() -> None:
    r = row("什么是面额股？", "面额股的每一股", origin="generated")
    assert (r["label"], r["reason"]) == ("wrong", "does_not_answer")
    _, checks = checked(r)
    assert not checks["key_terms"].passed and "does not say what it is" in checks["key_terms"].detail


def test_what_is_a_conduct_answered_with_its_penalty_fails_key_terms() -> None:
    """Round 11: "什么是<conduct>？" answered with the conduct's penalty was accepted (the conduct is too long for
    a term); the answer never says what it is. A question asking for the penalty, and a crime defined by its
    conduct ("……的，是行贿罪"), still pass."""
    r = row("什么是伪造居民身份证、护照、社会保障卡、驾驶证等依法可以用于证明身份的证件？", "伪造居民身份证")
    assert (r["label"], r["reason"]) == ("wrong", "does_not_answer")
    _, checks = checked(r)
    assert not checks["key_terms"].passed and "penalty" in checks["key_terms"].detail
    for question, answer_start in [("什么是行贿罪？", "为谋取不正当利益"), ("什么是主犯？", "组织、领导犯罪集团")]:
        correct = row(question, answer_start)
        assert correct["label"] == "correct"
        assert checked(correct)[1]["key_terms"].passed, question
    assert not penalty_for_what_is("什么是银行或者其他金融机构的工作人员违反国家规定发放贷款的处罚？", r["answer"])


async def test_a_penalty_asked_as_what_an_act_is_is_sent_back_for_a_new_question_not_rejected() -> None:
    """The answer of such a pair is the article's penalty, right as it stands: the review sends it back, and
    the revision cuts the question from the answer by code (the act, then 如何处罚) with no model call; left
    unrevised it is rejected as check:key_terms."""
    r = row("什么是伪造居民身份证、护照、社会保障卡、驾驶证等依法可以用于证明身份的证件？", "伪造居民身份证")
    chunk = chunk_of(r)
    sample = sample_of(r, chunk)
    review = await review_samples(chunk, [sample], ScriptedChatModel([]), BuildSettings())
    verdict = review.to_revise[sample.sample_id]
    assert review.rejected == [] and review.verdicts == {}
    assert (verdict.rationale, verdict.from_code) == ("check:key_terms", True) and "如何处罚" in verdict.feedback
    model = ScriptedChatModel([])
    revised = await revise_samples(chunk, [(sample, verdict)], model)
    asked = "伪造居民身份证、护照、社会保障卡、驾驶证等依法可以用于证明身份的证件的，如何处罚？"
    assert [(s.question, s.answer, s.revision_rounds) for s in revised.samples] == [(asked, r["answer"], 1)]
    assert revised.prompt_version == "code:penalty_question@1" and model.history == []
    assert [o.reason for o in revision_exhausted([(sample, verdict)], 1)] == ["check:key_terms"]
    # the new pair asks for what its answer gives: every code check passes
    assert first_failure(run_code_checks(revised.samples[0], chunk)) is None


def test_a_changed_period_fails_facts_as_a_value() -> None:
    r = row(
        "什么是非全日制用工？", "非全日制用工是指以小时计酬为主，劳动者在同一用人单位一般平均每日工作时间不超过八小时"
    )
    assert r["origin"] == "synthetic"
    _, checks = checked(r)
    assert not checks["facts"].passed and "8小时" in checks["facts"].detail


def test_a_paragraph_the_article_does_not_have_fails_facts() -> None:
    r = row("劳动合同法第二十七条第三款对劳动合同部分无效是如何规定的？")
    _, checks = checked(r)
    assert not checks["facts"].passed and "第27条 has no 第3款" in checks["facts"].detail


def test_a_negated_rule_fails_polarity_or_facts() -> None:
    r = row("公司可以为董事投保责任保险吗？", "不可以")
    _, checks = checked(r)
    failure = first_failure(list(checks.values()))
    assert failure is not None and failure.name in {"polarity", "facts"}
    assert not checks["polarity"].passed


def test_a_changed_legal_operator_fails_facts() -> None:
    r = row("违约责任的定金条款如何适用？", "当事人既约定违约金，又约定定金的，一方违约时，对方可以同时")
    _, checks = checked(r)
    assert not checks["facts"].passed and "'同时'" in checks["facts"].detail


def test_a_placeholder_question_fails_the_question_check() -> None:
    r = row("甲的职工代表的比例是多少？")
    assert r["reason"] == "not_self_contained"
    _, checks = checked(r)
    assert not checks["question"].passed


def test_a_source_sentence_with_a_question_mark_fails_the_question_check() -> None:
    r = row(
        "技术转让合同和技术许可合同中关于提供实施技术的专用设备、原材料或者提供有关的技术咨询、技术服务的约定，属于合同的组成部分？"
    )
    assert r["reason"] == "statement_as_question"
    assert not check_question(r["question"], r["chunk"]).passed
    assert check_question("非全日制用工双方当事人可以订立口头协议吗？", r["chunk"]).passed


def test_a_bare_yes_is_located_through_its_question() -> None:
    r = row("从事非全日制用工的劳动者可以与一个或者一个以上用人单位订立劳动合同吗？", "可以")
    assert r["label"] == "correct"
    sample, checks = checked(r)
    assert all(check.passed for check in checks.values()), checks
    assert "可以与一个或者一个以上用人单位订立劳动合同" in sample.evidence[0].text


@pytest.mark.parametrize(
    ("question", "answer_start"),
    [
        ("有限责任公司董事会成员的构成是什么？", ""),
        ("公司为董事投保责任保险后，董事会应当向股东会报告什么内容？", ""),
        ("什么是技术许可合同？", "技术许可合同是合法拥有技术的权利人，将现有特定的专利、技术秘密的相关权利许可"),
    ],
)
def test_correct_pairs_pass_every_code_check(question: str, answer_start: str) -> None:
    assert_correct_and_passing(question, answer_start)


async def test_round_trip_agrees_when_the_source_is_quoted_at_the_same_place() -> None:
    r = row("公司可以为董事投保责任保险吗？", "公司可以在董事任职期间")
    chunk = chunk_of(r)
    sample, _ = checked(r)
    quote = "公司可以在董事任职期间为董事因执行公司职务承担的赔偿责任投保责任保险。"
    model = ScriptedChatModel([_quotes([quote])], auto_quote=False)
    trip = await round_trip(chunk, [sample], model, "zh")
    assert trip.results[sample.sample_id].passed
    prompt = model.history[0]["messages"][1]["content"]
    assert sample.question in prompt and "公司可以在董事任职期间为董事" in prompt  # the chunk, not the answer
    assert prompt.count("投保责任保险") == chunk.text.count("投保责任保险") + 1  # only the question adds one


async def test_round_trip_rejects_the_answer_of_a_neighbouring_article() -> None:
    r = row("劳动合同无效的条件是什么？", "劳动合同被确认无效", origin="synthetic")
    assert r["reason"] == "neighbouring_article"
    chunk = chunk_of(r)
    sample, checks = checked(r)
    assert first_failure(list(checks.values())) is None  # every word is in the source: code alone passes it
    article_26 = "（一）以欺诈、胁迫的手段或者乘人之危，使对方在违背真实意思的情况下订立或者变更劳动合同的；"
    trip = await round_trip(chunk, [sample], ScriptedChatModel([_quotes([article_26])], auto_quote=False), "zh")
    result = trip.results[sample.sample_id]
    assert not result.passed and "overlap 0%" in result.detail


async def test_round_trip_gives_every_sample_a_verdict_even_when_the_call_falls_short() -> None:
    r = row("公司可以为董事投保责任保险吗？", "公司可以在董事任职期间")
    chunk = chunk_of(r)
    first, _ = checked(r)
    second = first.model_copy(update={"sample_id": "second"})
    model = ScriptedChatModel([_quotes(["这句话不在资料里，是模型编的。"])], auto_quote=False)
    trip = await round_trip(chunk, [first, second], model, "zh")
    assert "not in the source" in trip.results[first.sample_id].detail
    assert not trip.results["second"].passed and "missing" in trip.results["second"].detail


async def test_the_judge_reads_the_evidence_not_the_chunk() -> None:
    r = row("公司可以为董事投保责任保险吗？", "公司可以在董事任职期间")
    chunk = chunk_of(r)
    sample = sample_of(r, chunk)
    judge = ScriptedChatModel([_reviews(1)])
    review = await review_samples(chunk, [sample], judge, BuildSettings())
    assert list(review.verdicts) == [sample.sample_id]
    prompt = judge.history[0]["messages"][1]["content"]
    assert "公司可以在董事任职期间为董事" in prompt.split("依据:")[1]
    assert "第一百九十一条" not in prompt  # an article of the chunk the answer does not rest on
    assert [c.name for c in sample.checks] == [
        "question",
        "evidence",
        "key_terms",
        "facts",
        "polarity",
        "round_trip",
        "judge",
    ]
    assert count_checks([sample])["round_trip"] == {"passed": 1, "failed": 0, "not_counted": 0}


async def test_one_pass_generation_locates_the_generators_quote() -> None:
    r = row("什么是技术许可合同？", "技术许可合同是合法拥有技术的权利人，将现有特定的专利、技术秘密的相关权利许可")
    chunk = chunk_of(r)
    quote = "技术许可合同是合法拥有技术的权利人，将现有特定的专利、技术秘密的相关权利许可他人实施、使用所订立的合同。"
    reply = {"pairs": [{"question": r["question"], "answer": r["answer"], "evidence": quote}]}
    model = ScriptedChatModel([json.dumps(reply, ensure_ascii=False)])
    result = await generate_qa(chunk, model, BuildSettings(questions_per_chunk=1))
    assert model.history[0]["json_schema"]["$defs"]["QAPair"]["required"] == ["evidence", "question", "answer"]
    (span,) = result.samples[0].evidence
    assert span.match == "exact" and span.text == quote
    assert span.char_start == chunk.provenance.char_start + chunk.text.index(quote)


async def test_a_quote_that_does_not_support_the_answer_is_replaced_by_located_evidence() -> None:
    """The 1.5B often quotes a bare article number ("第六十八条"): the evidence then comes from the answer."""
    r = row("什么是非全日制用工？")
    chunk = chunk_of(r)
    reply = {"pairs": [{"question": r["question"], "answer": r["answer"], "evidence": "第六十八条"}]}
    result = await generate_qa(
        chunk, ScriptedChatModel([json.dumps(reply, ensure_ascii=False)]), BuildSettings(questions_per_chunk=1)
    )
    assert "是指以小时计酬为主" in result.samples[0].evidence[0].text


def test_an_edit_inside_a_copied_clause_fails_facts() -> None:
    """Small models edit one word of a rule and copy the rest: 民事责任 -> 刑事责任."""
    r = next(r for r in ROWS if r["answer"].endswith("承担刑事责任"))
    _, checks = checked(r)
    assert not checks["facts"].passed and "'民' -> '刑'" in checks["facts"].detail


def test_a_citation_of_another_article_than_the_evidence_fails_facts() -> None:
    r = next(r for r in ROWS if r["question"].startswith("第五十一条中的“侵害消费者的人格尊严"))
    assert r["reason"] == "invented_citation"
    _, checks = checked(r)
    assert not checks["facts"].passed and "the evidence is in 第50条" in checks["facts"].detail


def test_a_purpose_question_needs_a_stated_purpose() -> None:
    r = row("What is the purpose of Section 7?")
    assert r["label"] == "wrong"
    _, checks = checked(r)
    assert not checks["key_terms"].passed and "purpose" in checks["key_terms"].detail


def test_code_checks_reject_no_correct_pair_of_the_design_rounds_but_the_known_five() -> None:
    """Recall of the code checks alone over the hand-labelled correct pairs of rounds 1 to 3, the pairs the
    checks were designed on (rounds 2 and 3 became design data once they had been measured held out). Round 4
    is held out: what the checks do to it is measured by bench_critique and reported in
    docs/benchmarks/critique.md, not asserted here. The known losses: one pair written three times whose
    question asks for "违法行为", a word article 56 never uses; "有权" for the source's "要求"; "保障措施" of a
    whole law answered with its safeguard article."""
    rejected = []
    for r in ROWS:
        if r["label"] == "correct" and r["round"] in (1, 2, 3):
            _, checks = checked(r)
            failure = first_failure(list(checks.values()))
            if failure is not None:
                rejected.append((r["question"], failure.name))
    assert rejected == [
        *[("消费者权益保护法中规定了哪些行为属于违法行为？", "key_terms")] * 3,
        ("股东查阅会计账簿、会计凭证的条件是什么？", "facts"),
        ("中华人民共和国数据安全法的保障措施是什么？", "key_terms"),
    ]


@pytest.mark.parametrize(
    "question",
    [
        "消费者权益保护法的立法目的是什么？",  # "为保护……，制定本法" states the purpose without 目的
        "消费者权益保护法的适用范围是什么？",  # "……受本法保护" states the scope without 适用范围
        "中华人民共和国数据安全法的适用范围是什么？",  # "……适用本法"
        "消费者权益保护法规定了哪些行为可能需要缴纳罚款？",  # "哪些行为" asks for acts: frame, not a term
    ],
)
def test_correct_round_three_pairs_on_a_whole_law_pass_key_terms(question: str) -> None:
    assert_correct_and_passing(question, rounds=(3,))


def test_a_rule_given_to_another_party_fails_key_terms() -> None:
    """Article 42 says what the employer may not do; the question asks it of the employee."""
    r = row("劳动者在什么情况下不得解除劳动合同？", origin="generated")
    assert r["label"] == "wrong" and r["reason"] == "wrong_entity"
    _, checks = checked(r)
    assert not checks["key_terms"].passed
    assert checks["key_terms"].detail == "asks what 劳动者 不得解除; the evidence gives that rule to 用人单位"


def test_a_question_about_the_party_the_rule_names_passes_the_party_rule() -> None:
    from ftds.tools.generation.checks import other_actor

    article_42 = "劳动者有下列情形之一的，用人单位不得依照本法第四十条、第四十一条的规定解除劳动合同："
    assert other_actor("用人单位在什么情况下不得解除劳动合同？", article_42) is None
    assert (
        other_actor("劳动者在什么情况下不得解除劳动合同？", "有下列情形之一的，不得解除劳动合同") is None
    )  # no party named
    # "是否" asks; it is not part of the party (a make demo question, once rejected for "公司是否" ≠ "公司")
    article_144 = "第一百四十四条 公司可以按照公司章程的规定发行下列与普通股权利不同的类别股："
    assert other_actor("公司是否可以按照公司章程的规定发行下列与普通股权利不同的类别股？", article_144) is None
    listed = "公开发行股份的公司不得发行前款第二项规定的类别股"
    assert other_actor("公司是否不得发行前款第二项规定的类别股？", listed) is None


def test_an_article_number_is_no_answer_to_a_whether_question() -> None:
    r = row(
        "上市公司是否在一年内购买、出售重大资产或者向他人提供担保的金额超过公司资产总额百分之三十的，应当由股东会作出决议，并经出席会议的股东所持表决权的三分之二以上通过？"
    )
    assert r["label"] == "wrong" and r["answer"] == "第一百三十五条"
    assert precheck(sample_of(r, chunk_of(r)), r["chunk"], "zh") == "precheck:reference_only"
    cited = row(
        "当债务人因不可抗力不能履行合同的，应当及时通知对方，以减轻可能给对方造成的损失，并应当在合理期限内提供证明，这是什么法律条文？"
    )
    assert cited["label"] == "correct"  # asked which provision: the number is the answer
    assert precheck(sample_of(cited, chunk_of(cited)), cited["chunk"], "zh") is None


def test_an_answer_the_question_already_holds_is_caught_in_any_letter_case() -> None:
    r = next(r for r in ROWS if r["question"].startswith("What is the term used to describe the right to vote"))
    assert r["label"] == "wrong" and r["answer"].startswith("The right")
    assert precheck(sample_of(r, chunk_of(r)), r["chunk"], "en") == "precheck:answer_in_question"


def test_an_answer_that_is_its_question_without_the_asking_word_is_circular() -> None:
    """Round 6 (held out, accepted by the review then): "…需要支付什么经济补偿？" — "…需要支付经济补偿。" A
    yes/no question restated as its answer is still an answer (round 1, labelled correct)."""
    circular = row("劳动合同的解除和终止需要支付什么经济补偿？")
    assert (circular["label"], circular["round"]) == ("wrong", 6)
    assert precheck(sample_of(circular, chunk_of(circular)), circular["chunk"], "zh") == "precheck:answer_in_question"
    yes_no = row("有限责任公司设立时的股东为设立公司从事的民事活动，其法律后果由公司承受吗？", "是的")
    assert yes_no["label"] == "correct"
    assert precheck(sample_of(yes_no, chunk_of(yes_no)), yes_no["chunk"], "zh") is None


@pytest.mark.parametrize(
    ("question", "answer_start"),
    [
        ("中华人民共和国数据安全法第五十二条是什么？", ""),  # a law title without 《》 is question frame
        ("中华人民共和国数据安全法第七章附则第五十三条是什么？", ""),  # so are chapter references
        # 35 = thirty five
        ("What is the minimum age required to be eligible to run for President?", "The minimum age"),
        ("What is the definition of the term 'Service'?", ""),  # the term is Service, not "term 'Service"
        ("What is the definition of the term 'User'?", ""),  # 'your' is your
        # must = shall, more than = exceed
        ("What is the maximum number of representatives each state can have?", ""),
        ("消费者有权自收到商品之日起七日内退货，但哪些商品除外？", ""),  # the condition is the list's lead-in
        # the condition is in the paragraph
        ("劳动者违反服务期约定的违约金最高不得超过多少？", "不超过用人单位提供的培训费用"),
        ("《中华人民共和国个人信息保护法》第六十六条是什么内容？", ""),  # 一百万元 later in the same paragraph
        ("失踪人下落不明满四年，如何申请宣告死亡？", ""),  # 满四年 is the item under the lead-in
        ("集体合同中劳动报酬和劳动条件等标准不得低于什么？", ""),  # an article heading is not a clause's content
    ],
)
def test_correct_round_two_pairs_the_checks_once_lost_pass_them(question: str, answer_start: str) -> None:
    assert_correct_and_passing(question, answer_start, rounds=(2,))


def test_a_list_copied_in_order_is_located_as_one_run_of_items() -> None:
    r = row("消费者权益保护法中规定了哪些行为属于违法行为？")
    sample, checks = checked(r)
    assert checks["evidence"].passed
    text = "".join(span.text for span in sample.evidence)
    assert all(f"（{n}）" in text for n in "一二三四五六七八九十")


def test_an_answer_from_another_paragraph_of_the_article_still_fails_key_terms() -> None:
    """The paragraph context does not reach the article's other paragraphs: 清算期间公司存续… does not say what
    the 清算组 may do because the article's first paragraph names it."""
    r = row("清算组在清算过程中可以做什么？")
    assert r["label"] == "wrong"
    _, checks = checked(r)
    assert not checks["key_terms"].passed


async def test_round_trip_quotes_shifted_by_one_are_matched_back_to_their_questions() -> None:
    """The 1.5B gave question 1 the quote of question 2 and the reverse (cached review of the 股东会 chunk)."""
    notice = row("股东会会议的召集通知时间是多少？")
    convener = row("股东会会议由谁召集？", origin="generated")
    chunk = chunk_of(notice)
    samples = [checked(notice)[0], checked(convener)[0]]
    quote_notice = "召开股东会会议，应当于会议召开十五日前通知全体股东"
    quote_convener = "股东会会议由董事会召集，董事长主持"
    assert quote_notice in chunk.text and quote_convener in chunk.text
    model = ScriptedChatModel([_quotes([quote_convener], [quote_notice])], auto_quote=False)
    trip = await round_trip(chunk, samples, model, "zh")
    assert quote_notice in "".join(s.text for s in trip.spans[samples[0].sample_id])
    assert quote_convener in "".join(s.text for s in trip.spans[samples[1].sample_id])


async def test_round_trip_quoting_another_place_that_states_the_answer_agrees() -> None:
    r = row("What is the minimum age required to be eligible to run for President?", "The minimum age")
    chunk = chunk_of(r)
    sample, _ = checked(r)
    sample.evidence = [span.model_copy(update={"char_start": 0, "char_end": 1}) for span in sample.evidence[:1]]
    quote = next(s for s in chunk.text.split(";") if "thirty five Years" in s).strip()
    trip = await round_trip(chunk, [sample], ScriptedChatModel([_quotes([quote])], auto_quote=False), "en")
    result = trip.results[sample.sample_id]
    assert result.passed and "supports" in result.detail


async def test_an_unusable_batch_reply_is_followed_by_one_judge_call_per_pair() -> None:
    """The 1.5B's rubric reply for 7 pairs came back unparseable twice (bench_critique, before): no pair may be
    left without a verdict because one long reply broke."""
    first = row("公司可以为董事投保责任保险吗？", "公司可以在董事任职期间")
    second = row("公司为董事投保责任保险后，董事会应当向股东会报告什么内容？")
    chunk = chunk_of(first)
    samples = [sample_of(first, chunk), sample_of(second, chunk)]
    cut_off = '{"reviews": [{"index": 1, "grounded": 5, "quest'
    judge = ScriptedChatModel([cut_off, "still cut off", _reviews(1), _reviews(1)])
    review = await review_samples(chunk, samples, judge, BuildSettings())
    assert sorted(review.verdicts) == sorted(s.sample_id for s in samples) and review.failed == []
    assert [call["json_schema"]["properties"]["reviews"]["maxItems"] for call in judge.history] == [2, 2, 1, 1]


async def test_report_counts_checks_passed_by_accepted_samples_and_rejections_per_check() -> None:
    from ftds.tools.build.report import check_rows
    from ftds.tools.records import RunSummary

    r = row("公司可以为董事投保责任保险吗？", "公司可以在董事任职期间")
    chunk = chunk_of(r)
    sample = sample_of(r, chunk)
    await review_samples(chunk, [sample], ScriptedChatModel([_reviews(1)]), BuildSettings())
    summary = RunSummary(run_id="r", domain="law", rejection_reasons={"check:key_terms": 3, "duplicate": 1})
    rows = {name: (passed, unjudged, rejected) for name, passed, unjudged, rejected in check_rows(summary, [sample])}
    assert rows["round_trip"] == (1, 0, 0) and rows["key_terms"] == (1, 0, 3) and "duplicate" not in rows


async def test_round_trip_accepts_an_abridged_quote_that_says_what_the_evidence_says() -> None:
    r = row("公司可以为董事投保责任保险吗？", "公司可以在董事任职期间")
    chunk = chunk_of(r)
    sample, _ = checked(r)
    abridged = "第一百九十三条：公司可以在董事任职期间为董事投保责任保险"  # renumbered and shortened, not verbatim
    trip = await round_trip(chunk, [sample], ScriptedChatModel([_quotes([abridged])], auto_quote=False), "zh")
    result = trip.results[sample.sample_id]
    assert result.passed and "not verbatim" in result.detail


def test_declaring_someone_a_missing_person_is_no_definition_of_one() -> None:
    """The source's "申请宣告该自然人为失踪人" says who may be declared one, not what a 失踪人 is."""
    r = row("什么是失踪人？")
    assert r["label"] == "wrong"
    _, checks = checked(r)
    assert not checks["key_terms"].passed and "does not say what it is" in checks["key_terms"].detail


def test_a_copy_of_half_a_clause_with_its_subject_swapped_fails_facts() -> None:
    """The service-period cap pinned on 竞业限制: the answer copies the second half of the clause."""
    r = row("劳动者违反竞业限制约定的违约金最高不得超过多少？")
    assert r["label"] == "wrong"
    _, checks = checked(r)
    assert not checks["facts"].passed and "'服务' -> '竞业限制'" in checks["facts"].detail


def test_the_judge_is_called_for_remote_reviewers_and_not_for_the_embedded_one() -> None:
    from ftds.tools.config import LLMSettings, Settings
    from ftds.tools.generation.task_table import judge_called

    assert not judge_called(Settings())  # the default reviewer is the embedded model
    remote = LLMSettings(backend="openai", model="m", base_url="http://localhost:1/v1")
    assert judge_called(Settings(llm=remote))
    assert judge_called(Settings(reviewer=remote))  # the reviewer's endpoint decides, not the generator's
    assert judge_called(Settings(build=BuildSettings(judge="always")))
    assert not judge_called(Settings(llm=remote, build=BuildSettings(judge="never")))
    assert judge_called(Settings(build=BuildSettings(task="reward")))  # reward records are the judge's scores
    with pytest.raises(ValueError, match="judge never"):
        judge_called(Settings(build=BuildSettings(task="reward", judge="never")))


async def test_without_the_judge_what_passed_every_check_is_accepted_with_no_call() -> None:
    r = row("公司可以为董事投保责任保险吗？", "公司可以在董事任职期间")
    chunk = chunk_of(r)
    sample = sample_of(r, chunk)
    quote = "公司可以在董事任职期间为董事因执行公司职务承担的赔偿责任投保责任保险。"
    model = ScriptedChatModel([_quotes([quote])], auto_quote=False)  # the round trip only: a judge call would fail
    review = await review_samples(chunk, [sample], model, BuildSettings(), call_judge=False)
    verdict = review.verdicts[sample.sample_id]
    assert verdict.reviewer == "checks" and verdict.scores is None and len(model.history) == 1
    assert [c.name for c in sample.checks][-1] == "round_trip"


async def test_a_round_trip_that_repeats_the_question_is_not_counted_either_way() -> None:
    """The 1.5B asked to quote the source copied the question back (12 times in the labelled set's cached round
    trips); sharing the evidence's words, the copy passed or failed by chance. Now it is no verdict: the
    pair is left to the other checks, and the detail says so."""
    r = row("公司解散后，清算组如何处理公司未了结的业务？")
    assert r["label"] == "wrong" and r["reason"] == "does_not_answer"
    chunk = chunk_of(r)
    sample, _ = checked(r)
    model = ScriptedChatModel([_quotes([r["question"]])], auto_quote=False)
    trip = await round_trip(chunk, [sample], model, "zh")
    result = trip.results[sample.sample_id]
    assert result.passed and result.detail.startswith("not counted: the round trip repeated the question")
    sample.checks.append(result)
    assert count_checks([sample])["round_trip"] == {"passed": 0, "failed": 0, "not_counted": 1}
    # a question the model found no sentence for still fails: that is an answer ("the source does not say")
    silent = await round_trip(chunk, [sample], ScriptedChatModel([_quotes([])], auto_quote=False), "zh")
    assert not silent.results[sample.sample_id].passed


def test_a_question_about_rights_is_answered_by_what_the_statute_says_one_has_the_right_to_do() -> None:
    """`make demo` (PIPL, 个人在个人信息处理活动中的权利): the statute grants rights as "有权查阅、复制", never
    writing "权利" in the article, so "哪些权利" questions over it failed key_terms."""
    pipl_45 = "个人有权查阅、复制其个人信息；有下列情形之一的除外"
    evidence = [EvidenceSpan(char_start=0, char_end=len(pipl_45), text=pipl_45)]
    assert check_key_terms("个人在个人信息处理活动中有哪些权利？", evidence, "查阅、复制其个人信息").passed
    without_right = pipl_45.replace("有权", "可以")
    evidence = [EvidenceSpan(char_start=0, char_end=len(without_right), text=without_right)]
    assert not check_key_terms("个人在个人信息处理活动中有哪些权利？", evidence, "查阅、复制其个人信息").passed


def test_a_swapped_party_behind_a_leading_condition_fails_key_terms() -> None:
    """Round 1, accepted by every review before this one: the article has the employer pay (用人单位应当向劳动者
    支付劳动报酬); the question, after its condition "…无效时，", asks how the worker pays."""
    r = row("劳动合同被确认无效时，劳动者应如何支付劳动报酬？")
    assert (r["label"], r["reason"]) == ("wrong", "wrong_entity")
    _, checks = checked(r)
    assert not checks["key_terms"].passed and "用人单位" in checks["key_terms"].detail


@pytest.mark.parametrize(
    ("question", "self_contained"),
    [
        ("What is the application of this license grant?", False),  # round 3, labelled not_self_contained
        ("What is the legal issue at stake in this section?", False),  # round 2
        ("What is the definition of 'fork' in this context?", True),  # round 3, labelled correct
        ("What is the notice period for material changes to these Terms of Service?", True),  # names the source
        ("什么是伪造、擅自制造或者出售伪造、擅自制造的前款规定以外的其他发票？", False),  # round 11
        ("单位犯前款罪的，如何处罚？", False),
    ],
)
def test_a_question_pointing_at_a_part_of_the_source_is_not_self_contained(question: str, self_contained: bool) -> None:
    assert check_question(question, "").passed is self_contained


@pytest.mark.parametrize(
    ("question", "answer_start"),
    [
        # an English "the Y for X" asks for an attribute, not what a term is
        ("What is the timeframe for paying the fees?", ""),
        ("什么是国有公司、企业的工作人员的犯罪行为？", ""),  # "X的犯罪行为" asks about X
        ("发起设立的发起人必须满足什么条件？", ""),  # 必须满足 is question frame, like 应当
        ("什么是股份有限公司股东会？", ""),  # "股东会是公司的权力机构" defines the whole term by its head
        ("什么是黑社会性质的组织？", ""),  # the statute defines by features; the list's lead-in names the term
        ("什么是黑社会性质的组织的特征？", ""),  # 应当 / 同时 / 以下 are in the lead-in, not the items
        ("数罪并罚的刑期是如何规定的？", ""),  # "1. … 2. …" numbers the answer's list: not quantities
        ("伪造货币的最高刑是什么？", ""),  # "最高刑是…" opens with the question's subject for the source's "处"
        ("伪造货币的最低刑是什么？", ""),
    ],
)
def test_correct_held_out_pairs_of_rounds_six_and_seven_pass_the_code_checks(question: str, answer_start: str) -> None:
    """Correct pairs the code checks rejected when rounds 6 and 7 were measured held out (each kind one case;
    fixed afterwards, so these rounds are design data now)."""
    assert_correct_and_passing(question, answer_start, rounds=(6, 7))


def test_a_short_answer_is_located_in_the_sentence_its_question_is_about() -> None:
    """Round 6: "公司登记机关" is named in 第二百五十五条 and 第二百五十六条 alike; the question (hiding assets during
    liquidation) is about 第二百五十六条, so the evidence is taken there, and the pair keeps its terms."""
    r = row(
        "公司如何进行清算时，隐匿财产，对资产负债表或者财产清单作虚假记载，或者在未清偿债务前分配公司财产的，由谁处罚？"
    )
    assert r["label"] == "correct"
    sample, checks = checked(r)
    assert all(check.passed for check in checks.values()), checks
    assert sample.evidence[0].text.startswith("第二百五十六条")


def test_a_graded_circumstance_the_article_does_not_have_fails_facts() -> None:
    """Round 7: 第一百七十条 punishes 伪造货币 without a 数额巨大 grade (its top grade is 数额特别巨大)."""
    r = row("伪造货币的数额巨大，最高刑是多少？")
    assert (r["label"], r["reason"]) == ("wrong", "swapped_condition")
    _, checks = checked(r)
    assert not checks["facts"].passed and "'数额巨大' is not a circumstance" in checks["facts"].detail


def test_a_lower_grade_given_as_the_highest_penalty_fails_facts() -> None:
    """Round 5: 第三百六十三条's heaviest grade is 情节严重的 十年以上; the answer gives the base grade."""
    r = row("制作淫秽物品的最高刑罚是多少？")
    assert (r["label"], r["reason"]) == ("wrong", "wrong_number")
    _, checks = checked(r)
    assert not checks["facts"].passed and "heaviest penalty" in checks["facts"].detail
    lowest = row("伪造货币的最低刑是什么？")  # the first grade when the article has no lighter one
    assert checked(lowest)[1]["facts"].passed


def test_a_short_subject_the_evidence_does_not_name_fails_key_terms() -> None:
    """Round 7: "管制的执行机关" answered with 第四十三条's 公安机关, which executes 拘役."""
    r = row("管制的执行机关是什么？")
    assert r["label"] == "wrong"
    _, checks = checked(r)
    assert not checks["key_terms"].passed and "'管制'" in checks["key_terms"].detail


def test_a_yes_no_question_said_as_a_statement_is_its_answer() -> None:
    """Round 7, labelled correct: "……对公司承担责任吗？" — "……对公司承担责任。" answers yes."""
    r = row("股份有限公司的股东以其认购的股份为限对公司承担责任吗？")
    assert r["label"] == "correct"
    assert precheck(sample_of(r, chunk_of(r)), r["chunk"], "zh") is None


def test_a_question_asking_how_many_days_needs_a_number_in_its_answer() -> None:
    """Round 5 (accepted by the review then): the chunk sets no number of days, so the answer gives none."""
    r = row("买受人收到标的物时应当在多少日内检验？")
    assert r["label"] == "wrong"
    _, checks = checked(r)
    assert not checks["facts"].passed and "asks for a number" in checks["facts"].detail


@pytest.mark.parametrize(
    ("question", "answer_start"),
    [
        ("公司可以收购本公司股份的哪些情形？", ""),  # "有以下情形之一的" says the statute's "有下列情形之一的"
        ("What is the purpose of the standing trustee's firewall requirement?", ""),  # "… to safeguard the system"
    ],
)
def test_correct_round_eight_pairs_the_checks_lost_when_it_was_held_out_pass_them(
    question: str, answer_start: str
) -> None:
    assert_correct_and_passing(question, answer_start, rounds=(8,))


def test_a_list_framed_by_the_answer_itself_still_needs_its_operators_backed() -> None:
    """Round 6: "……有以下规定：1. …" frames the answer's own list; 以下 before 规定 is not a statute's lead-in."""
    r = row("数罪并罚的附加刑如何合并执行？")
    assert r["label"] == "wrong"
    _, checks = checked(r)
    assert not checks["facts"].passed and "以下" in checks["facts"].detail


@pytest.mark.parametrize(
    ("question", "answer_start"),
    [
        ("什么是受贿罪？", ""),  # "……为他人谋取利益的，是受贿罪": the statute defines a crime by its conduct
        ("什么是挪用公款罪？", ""),
        ("什么是拐卖妇女、儿童的罪？", ""),  # "X的罪" asks what X is: "拐卖妇女、儿童是指……"
        ("什么是银行或者其他金融机构的工作人员违反国家规定发放贷款的处罚？", ""),  # "X的处罚" asks for X's penalty
    ],
)
def test_correct_round_nine_pairs_the_checks_lost_when_it_was_held_out_pass_them(
    question: str, answer_start: str
) -> None:
    assert_correct_and_passing(question, answer_start, rounds=(9,))


def test_a_question_asking_for_a_crime_s_name_needs_one_in_its_answer() -> None:
    """Round 9: "拐卖妇女、儿童的罪名是什么？" answered with what 拐卖妇女、儿童 is; the chunk names no crime."""
    r = row("拐卖妇女、儿童的罪名是什么？")
    assert r["label"] == "wrong"
    _, checks = checked(r)
    assert not checks["key_terms"].passed and "name of a crime" in checks["key_terms"].detail


def test_an_answer_that_adds_nothing_to_its_question_is_circular() -> None:
    """Round 9: "军人违反职责罪的罪名是什么？" — "军人违反职责罪" (too short for the giveaway rule)."""
    r = row("军人违反职责罪的罪名是什么？")
    assert r["label"] == "wrong"
    assert precheck(sample_of(r, chunk_of(r)), r["chunk"], "zh") == "precheck:answer_in_question"
    assert not answer_in_question("股东会会议的召集通知时间是多少？", "十五日")  # a short value answers


@pytest.mark.parametrize("question", ["刑法第十三条是什么意思？", "刑法第十四条是什么意思？", "刑法第十五是什么意思？"])
def test_a_question_on_an_article_of_a_law_named_short_asks_for_its_content(question: str) -> None:
    """Round 10: "刑法第十三条是什么意思？" asks what article 13 says (the law named "刑法", the article's 条 even
    dropped), not what a term "刑法第十三条" is."""
    r = row(question, origin="generated")
    assert r["label"] == "correct" and r["round"] == 10
    _, checks = checked(r)
    assert all(check.passed for check in checks.values()), checks


def test_a_reason_question_needs_a_stated_reason() -> None:
    """Round 13: the rule restated with "的原因是" in front, accepted at 04f0f6d; "公司因什么原因解散" is
    answered from "公司因下列原因解散" and keeps passing."""
    circular = row("公司定期披露董事、监事、高级管理人员的报酬情况的原因是什么？")
    assert circular["label"] == "wrong" and circular["reason"] == "does_not_answer"
    _, checks = checked(circular)
    assert not checks["key_terms"].passed and "reason" in checks["key_terms"].detail
    assert_correct_and_passing("公司因什么原因解散？")
    # 原因 inside a condition is not a reason asked: the question still needs its other terms in the evidence
    condition = check_key_terms("个人信息处理者因合并等原因需要转移个人信息时，应当告知什么？", [], "", "")
    assert not condition.detail.startswith("asks for a reason")


def test_a_right_answered_with_who_holds_it_fails_key_terms() -> None:
    """ "什么是X的权利？" answered "消费者……享有X的权利" (round 13, accepted at 04f0f6d) says who holds the right,
    not what it is; an answer listing what the right includes passes the rule."""
    held = row("什么是人身、财产安全不受损害的权利？")
    assert held["label"] == "wrong"
    _, checks = checked(held)
    assert checks["key_terms"].detail == "asked what a right is; the answer only says who holds it"
    exercised = row("什么是股东的权利？")
    assert exercised["label"] == "wrong" and holder_for_what_is(exercised["question"], exercised["answer"])
    listed = row("什么是行纪人的权利和义务？")
    assert not holder_for_what_is(listed["question"], listed["answer"])  # "权利和义务" is not one right asked
    assert not holder_for_what_is("什么是留置权？", "行纪人对委托物享有留置权，是指……")


def test_penalties_joined_from_two_articles_fail_facts() -> None:
    """Round 12: article 176's act with article 177's top tier (after the penalty repair), accepted at
    04f0f6d. A penalty answer copied whole from one article passes, though a tier of the next article repeats
    some of its words (the evidence then has a span there too)."""
    joined = row("非法吸收公众存款或者变相吸收公众存款，扰乱金融秩序的，如何处罚？")
    assert joined["label"] == "wrong" and joined["reason"] == "wrong_number"
    _, checks = checked(joined)
    assert not checks["facts"].passed and "joins the penalties of 第176条、第177条" in checks["facts"].detail
    whole = row("生产、销售假药的，如何处罚？", "第一百四十一条")
    assert whole["label"] == "correct"
    sample, checks = checked(whole)
    assert len({span.char_start for span in sample.evidence}) > 1 and checks["facts"].passed


def test_an_answer_that_only_says_where_a_duty_is_set_out_is_a_reference() -> None:
    """Round 13: "The debtor's duty to file documents is set out in 11 U.S.C. § 521(a)(1)." answers "what is
    the duty" with where it is (accepted at 04f0f6d); an answer that goes on to say what it is stays."""
    for question in ("What is the debtor's duty to file documents?", "What is the debtor's duty to cooperate?"):
        r = row(question)
        assert r["label"] == "wrong"
        assert precheck(sample_of(r, chunk_of(r)), r["chunk"], "en") == "precheck:reference_only"
    assert not reference_only(
        "What are the primary statutory duties of a standing trustee?",
        "They are set out in 11 U.S.C. § 1302, which requires the trustee to appear at hearings.",
    )
    assert reference_only("What is the rule on notice?", "The rule on notice is set forth in Section 4(b).")


def test_a_term_defined_with_the_class_it_heads_is_defined() -> None:
    """ "消费者协会和其他消费者组织是依法成立的……社会组织" says what 消费者协会 is (round 13, lost at 04f0f6d)."""
    r = row("什么是消费者协会？")
    assert r["label"] == "correct"
    _, checks = checked(r)
    assert checks["key_terms"].passed, checks["key_terms"].detail
    assert not defines("面额股", "股票和其他凭证")


@pytest.mark.parametrize(
    ("question", "names"),
    [("什么合同？", False), ("What should be done?", False), ("什么是股份？", True), ("本法何时施行？", True),
     ("What does the standing trustee do?", True), ("刑法第十三条是什么意思？", True)],
)  # fmt: skip
def test_a_question_that_names_nothing_fails_the_question_check(question: str, names: bool) -> None:
    """Round 14 accepted "什么合同？" — "技术咨询合同" (labelled not_self_contained)."""
    assert names_nothing(question) is not names
    if not names:
        r = row(question)
        assert r["label"] == "wrong"
        assert check_question(question, r["chunk"]).detail == "names nothing it asks about"


def test_an_act_given_as_its_own_purpose_fails_key_terms() -> None:
    """Round 14: "What is the purpose of examining proofs of claims?" — "The purpose is to examine proofs of
    claims and object …" (accepted at 68c316a: the chunk's "if a purpose would be served" reads as a purpose)."""
    r = row("What is the purpose of examining proofs of claims?")
    assert r["label"] == "wrong"
    _, checks = checked(r)
    assert checks["key_terms"].detail == "gives what was asked about as its own purpose"
    assert not restates_the_asked(
        "What is the purpose of the license grant to other users?",
        "The purpose of the license grant to other users is to allow others to view and 'fork' your repositories.",
    )


def test_an_answer_that_is_only_a_list_s_lead_in_is_rejected() -> None:
    """Round 15 accepted "符合下列情形之一的，个人信息处理者方可处理个人信息：" (the items that answer it are not
    there); a penalty answer whose last tier opens a list after a stated rule stays (labelled correct)."""
    r = row("什么情况下个人信息处理者方可处理个人信息？", "符合下列情形之一的")
    assert r["label"] == "wrong"
    assert precheck(sample_of(r, chunk_of(r)), r["chunk"], "zh") == "precheck:lead_in_only"
    last_tier = "有下列情形之一的，处五年以上十年以下有期徒刑，并处罚金："
    tier = next(r for r in ROWS if r["label"] == "correct" and r["answer"].endswith(last_tier))
    assert not lead_in_only(tier["answer"])


def test_an_english_what_question_answered_with_its_own_words_is_circular() -> None:
    """ "What is …" is not a yes / no question: "The duty of the standing trustee is to resolve audit
    deficiencies." adds nothing to its question (round 15, accepted at c1a3b78). One added word can be the
    whole value ("A reasonable period of time.", labelled correct) and passes."""
    r = row("What is the duty of the standing trustee to resolve audit deficiencies?")
    assert r["label"] == "wrong"
    assert precheck(sample_of(r, chunk_of(r)), r["chunk"], "en") == "precheck:answer_in_question"
    value = row("What is the maximum period of time parties should take to make inquiries at the meeting?")
    assert value["label"] == "correct" and not answer_in_question(value["question"], value["answer"])
    assert not answer_in_question("Is the fee refundable?", "The fee is not refundable.")


def test_a_range_of_sections_is_a_citation() -> None:
    """Round 15: "The most common bankruptcy crimes are set forth in 18 U.S.C. §§ 152 - 157." names none."""
    r = row("What are the most common bankruptcy crimes?")
    assert r["label"] == "wrong"
    assert precheck(sample_of(r, chunk_of(r)), r["chunk"], "en") == "precheck:reference_only"


@pytest.mark.parametrize(
    ("question", "self_contained"),
    [
        ("What is the role of the standing trustee at these meetings?", False),  # round 17, accepted at e3eed63
        ("What are the options for the standing trustee if unsuccessful?", False),  # round 17: unsuccessful at what
        ("What is the legal issue involved in this situation?", False),
        ("What is the notice period for changes to these terms of service?", True),  # the whole source: harmless
        ("What are the limitations of liability in this document?", True),
    ],
)
def test_an_english_question_pointing_at_what_it_never_names_is_not_self_contained(
    question: str, self_contained: bool
) -> None:
    r = row(question)
    assert r["label"] == ("correct" if self_contained else "wrong")
    check = check_question(question, r["chunk"])
    assert check.passed is self_contained
    if not self_contained:
        assert check.detail == "refers to something the question does not name"


@pytest.mark.parametrize(
    ("question", "answer_start"),
    [
        ("合同的权利义务关系终止后，结算和清理条款的效力如何？", ""),  # round 16, accepted at 4488499
        ("买受人请求出卖人承担违约责任的权利是什么？", ""),  # "…买受人请求其承担违约责任的权利": the same tail
        ("催告存货人或者仓单持有人作出必要的处置是什么？", ""),
        ("什么是经济状况显著恶化？", ""),  # round 17, rejected then only by the answer check's bar
    ],
)
def test_a_chinese_answer_that_names_what_it_defines_twice_is_circular(question: str, answer_start: str) -> None:
    r = row(question, answer_start)
    assert r["label"] == "wrong"
    assert precheck(sample_of(r, chunk_of(r)), r["chunk"], "zh") == "precheck:answer_in_question"


def test_a_statute_s_definition_that_names_its_term_after_wei_is_not_circular() -> None:
    """ "……从事家庭承包经营的，为农村承包经营户" names the term twice and is the statute's own definition (labelled
    correct); so is "……应当列为公司资本公积金"."""
    for question in ("什么是农村承包经营户？", "什么是公司资本公积金？"):
        r = row(question)
        assert r["label"] == "correct"
        assert precheck(sample_of(r, chunk_of(r)), r["chunk"], "zh") is None


@pytest.mark.parametrize(
    "question", ["What is the purpose of a management review?", "What is the purpose of the salary increase pool?"]
)
def test_an_english_purpose_stated_as_an_aim_or_intention_is_a_stated_purpose(question: str) -> None:
    """Rounds 16-17: "is intended to be the sole source …", "The objective of … is" state a purpose; both pairs
    are labelled correct and were lost to key_terms ("asks for a purpose the evidence does not state")."""
    assert_correct_and_passing(question)


def test_an_answer_copying_a_rule_without_its_opening_condition_fails_facts() -> None:
    """Round 18 accepted "国务院部门规章可以设定警告、通报批评或者一定数额罚款的行政处罚", 第十三条 copied without its
    "尚未制定法律、行政法规的，": the power reads as unconditional (labelled swapped_condition)."""
    r = row("国务院部门规章可以设定什么行政处罚？")
    assert r["label"] == "wrong" and r["reason"] == "swapped_condition"
    _, checks = checked(r)
    assert checks["facts"].detail == "drops the condition '尚未制定法律、行政法规的' of the rule it copies"
    # the condition said in the question is not dropped; a list's lead-in is not a condition
    assert_correct_and_passing("失踪人下落不明满四年，如何申请宣告死亡？")
    assert_correct_and_passing("清算组在清算结束后需要做什么？")


def test_an_answer_saying_need_for_the_statute_s_shall_copies_the_duty() -> None:
    """Round 18 lost "保险代理机构和保险经纪人需要具备……条件" to "changed the source: '应当' -> '需要'"."""
    assert_correct_and_passing("保险代理机构和保险经纪人需要具备哪些条件？")


def test_a_condition_clause_asked_as_what_is_fails_the_question_check() -> None:
    """Round 19 accepted "什么是建筑物……发生脱落、坠落造成他人损害的？": 第一千二百五十三条's condition with 什么是 in
    front (labelled statement_as_question); a "什么是X？" naming a term stays a question."""
    r = row("什么是建筑物、构筑物或者其他设施及其搁置物、悬挂物发生脱落、坠落造成他人损害的？")
    assert r["label"] == "wrong"
    assert check_question(r["question"], r["chunk"]).detail == "a condition clause of the source asked as 什么是"
    assert check_question("什么是发明创造？", "").passed
    assert check_question("What are the options for posting funds in such a case?", "").detail == (
        "refers to something the question does not name"
    )


@pytest.mark.parametrize(
    "question", ["什么是侵犯专利权的诉讼时效？", "什么是发明或者实用新型专利权的保护范围？"]
)  # fmt: skip
def test_a_period_or_measure_stated_as_what_x_is_defines_x(question: str) -> None:
    """Round 19 lost "……诉讼时效为三年" and "……保护范围以其权利要求的内容为准" to key_terms (labelled correct)."""
    assert_correct_and_passing(question)
    assert not defines("公司", "公司为股东提供担保的，应当经股东会决议。")  # 为 as "for" defines nothing


def test_an_answer_copying_list_items_without_the_lead_in_s_exception_fails_facts() -> None:
    """Round 20 accepted "哪些行为是侵犯隐私权的？" answered with items (一)-(六) of 第一千零三十三条, whose lead-in
    forbids them only "除法律另有规定或者权利人明确同意外" (labelled swapped_condition): the exception sits in the
    lead-in, outside the copied items. Stated with the items, nothing is dropped."""
    r = row("哪些行为是侵犯隐私权的？")
    assert r["label"] == "wrong" and r["reason"] == "swapped_condition"
    _, checks = checked(r)
    assert checks["facts"].detail == "drops the exception '除法律另有规定或者权利人明确同意外' of the list it copies"
    stated = "除法律另有规定或者权利人明确同意外，任何组织或者个人不得实施下列行为：" + r["answer"]
    assert dropped_exception(r["question"], stated, r["chunk"]) is None
    # a list whose lead-in has no exception (labelled correct) passes
    assert_correct_and_passing("劳务派遣单位需要具备哪些条件？")
    assert_correct_and_passing("哪些情形可以不视为侵犯专利权？")


def test_a_condition_anywhere_before_the_copied_words_counts_and_so_does_an_approval() -> None:
    """Round 21 accepted "受托人应当将信托财产用于与原公益目的相近似的目的……" for 第七十二条, whose conditions
    ("没有信托财产权利归属人……的，" and "经公益事业管理机构批准，") sit two clauses before the copied words
    (labelled swapped_condition). Stating the first but not the approval still drops a condition."""
    r = row("公益信托终止时，受托人应当将信托财产用于什么？")
    assert r["label"] == "wrong" and r["reason"] == "swapped_condition"
    _, checks = checked(r)
    assert checks["facts"].detail.startswith("drops the condition '没有信托财产权利归属人")
    assert checks["evidence"].passed
    spans = [EvidenceSpan(char_start=0, char_end=len(r["generator_quote"]), text=r["generator_quote"])]
    first_asked = (
        "公益信托终止，没有信托财产权利归属人或者信托财产权利归属人是不特定的社会公众的，受托人应当将信托财产用于什么？"
    )
    assert dropped_condition(first_asked, r["answer"], spans) == "经公益事业管理机构批准"
    both_asked = first_asked.replace("的，受托人", "的，经公益事业管理机构批准，受托人")
    assert dropped_condition(both_asked, r["answer"], spans) is None
