"""Review generated samples against their source: a cheap lexical pre-check, checks that code can verify,
an independent round trip, then one LLM rubric call on what is left.

The pre-check rejects what needs no model to judge (empty, too short, a copy of the whole source, an answer
with no lexical support in the source, an invented citation, an answer already inside its question). A
failure of form that a rewrite can mend (a statement or a heading instead of a question, the wrong language)
goes to revision with the pre-check's own feedback instead, and is rejected with the pre-check's reason if
the rewrites do not mend it. Grounded samples then get their evidence located by code and pass or fail the
checks of :mod:`ftds.tools.generation.checks` (evidence, key terms, facts, polarity) and the round trip of
:mod:`ftds.tools.generation.round_trip`; a failed check rejects the sample with ``check:<name>`` and no judge
score can overrule it. Everything left is scored by the reviewer model in one call per chunk on four
dimensions; the weighted total gives the verdict: ``accept`` at or above the accept threshold, ``revise``
(with the reviewer's concrete feedback, which :func:`ftds.tools.generation.revise.revise_samples` hands back to the
generator) between the revise and accept thresholds, ``reject`` below. When a label tree is given, the same
call also labels each sample, so labelling costs no extra call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from ftds.tools.config import BuildSettings
from ftds.tools.generation.checks import (
    ANSWERS,
    JUDGE,
    KEY_TERMS,
    NOT_RUN,
    PENALTY_INSTEAD,
    ROUND_TRIP,
    first_failure,
    run_code_checks,
    supported_text,
)
from ftds.tools.generation.citations import invented_citations
from ftds.tools.generation.evidence import EN_STOP_WORDS, compact, content_units, evidence_text
from ftds.tools.generation.generate import call_structured, chunk_language, exact_items_schema
from ftds.tools.generation.labels import LabelTree, label_instruction
from ftds.tools.generation.prompts import domain_preset, load_template
from ftds.tools.language import detect_language
from ftds.tools.llm.base import ChatModel
from ftds.tools.records import (
    CHECKS,
    PRECHECK,
    CheckResult,
    Chunk,
    Decision,
    ItemOutcome,
    PairCritique,
    ReviewScores,
    ReviewVerdict,
    Sample,
    TokenUsage,
)

WEIGHTS = {"grounded": 0.4, "question": 0.2, "answer": 0.3, "language": 0.1}
MIN_QUESTION_CHARS = 5
MIN_ANSWER_CHARS = 2
MIN_SUPPORT = 0.3
COPY_FRACTION = 0.8
MIN_GIVEAWAY_CHARS = 8  # shorter answers (a name, a number) may fairly appear in their question


def _grams(text: str, language: str) -> set[str]:
    text = text.lower()
    if language == "zh":
        chars = re.sub(r"[\s\W_]+", "", text)
        return {chars[i : i + 2] for i in range(len(chars) - 1)}
    return set(re.findall(r"[a-z0-9]+", text))


def lexical_support(answer: str, source: str, language: str) -> float:
    """Share of the answer's character bigrams (zh) or words (en) that occur in the source."""
    answer_grams = _grams(answer, language)
    if not answer_grams:
        return 0.0
    return len(answer_grams & _grams(source, language)) / len(answer_grams)


_ZH_ASKING = re.compile(
    r"[？?]|吗|呢|什么|哪|怎|如何|为何|为什么|是否|能否|可否|多少|几|请|说明|简述|分析|解释|列举|判断|比较|论述"
)
_EN_ASKING = re.compile(
    r"\?|^(what|who|whom|whose|which|when|where|why|how|is|are|was|were|can|could|may|must|should|shall|does|do|"
    r"did|has|have|will|would|under|if|in what|explain|describe|list|compare|summari[sz]e|give|state|name|identify|"
    r"discuss|analy[sz]e|outline|define)\b",
    re.IGNORECASE,
)


# Pre-check failures of form, not of content: small models often write a heading or a statement where a
# question belongs, or answer in the wrong language, about a passage they otherwise got right.
FIXABLE_BY_REVISION = {
    "precheck:not_a_question": {
        "zh": "这一条的“问题”是陈述句或标题，不是问题。请把它改写成疑问句：用“什么、哪些、如何、是否、为什么"
        "”等疑问词提问，以“？”结尾，并且原文能够回答；答案保持以原文为据。",
        "en": "The 'question' of this pair is a statement or a heading, not a question. Rewrite it as a question: "
        "ask with what, which, how, whether or why, end it with '?', and make sure the source answers it; keep "
        "the answer grounded in the source.",
    },
    "precheck:wrong_language": {
        "zh": "问答没有用中文写：请用中文重写问题和答案，内容保持不变。",
        "en": "The pair is not written in English: rewrite the question and the answer in English, same content.",
    },
}


def precheck_revision(reason: str, language: str) -> ReviewVerdict | None:
    """A ``revise`` verdict carrying the pre-check's feedback, when a rewrite can mend ``reason``; else None."""
    feedback = FIXABLE_BY_REVISION.get(reason)
    if feedback is None:
        return None
    return ReviewVerdict(
        decision="revise",
        total=0.0,
        rationale=reason,
        feedback=feedback.get(language, feedback["en"]),
        reviewer=PRECHECK,
    )


# A finished sentence with a question mark glued on ("……符合社会公德和伦理。？"): what small models write
# when told to turn a statement into a question.
_GLUED_QUESTION_MARK = re.compile(r"[。．.！!；;]\s*[？?]\s*$")


def looks_like_question(text: str) -> bool:
    """A question or an instruction, not a bare heading like "第二十一条" (small models write those) nor a
    statement with a question mark glued on."""
    if _GLUED_QUESTION_MARK.search(text):
        return False
    return bool(_ZH_ASKING.search(text) or _EN_ASKING.search(text.strip()))


# the word a question asks with; removed, "…需要支付什么经济补偿" reads as its circular answer "…需要支付经济补偿"
_ASKING_WORD = re.compile(r"什么|哪些|哪个|哪种|多少|如何|怎样|怎么|何种|为何|为什么|谁")
_YES_NO_PARTICLE = re.compile(r"吗(?=[？?]?\s*$)|是否|能否|可否")
_YES_NO_QUESTION = re.compile(
    r"是否|能否|可否|吗|^\s*(?:is|are|does|do|did|can|may|must|shall|will|should|has|have)\b", re.IGNORECASE
)
"""An English question is yes / no when it opens with its auxiliary ("Is …", "Must …"); the "is" of "What is …"
does not make one (it once did, and "What is the duty … to resolve audit deficiencies?" — "The duty … is to
resolve audit deficiencies." passed as an answer)."""


def answer_in_question(question: str, answer: str) -> bool:
    """True when the question already contains the whole answer, or the answer is the question with its asking
    word taken out ("需要支付什么经济补偿？" — "需要支付经济补偿。"): a circular pair teaches nothing. A yes/no
    question restated as its answer ("…由公司承受吗？" — "是的，…由公司承受。") is an answer."""
    compact_question, compact_answer = compact(question), compact(answer)
    yes_no = _YES_NO_QUESTION.search(question)
    said = content_units(answer) - EN_STOP_WORDS
    most_added = MAX_UNITS_ADDED if re.search(r"[\u3400-\u9fff]", answer) else MAX_UNITS_ADDED_EN
    if not yes_no and len(said) >= MIN_UNITS_SAID and len(said - content_units(question)) <= most_added:
        return True  # "军人违反职责罪的罪名是什么？" — "军人违反职责罪": nothing said that was not asked
    if len(compact_answer) < MIN_GIVEAWAY_CHARS:
        return False
    # "股东以其认购的股份为限对公司承担责任吗？" — "股东以其认购的股份为限对公司承担责任。": the question
    # without its yes/no particle, said as a statement, is the answer "yes"
    if yes_no and compact_answer == compact(_YES_NO_PARTICLE.sub("", question)):
        return False
    if compact_answer in compact_question:
        return True
    asks = _ASKING_WORD.search(question) and not yes_no
    return (
        (bool(asks) and compact_answer == compact(_ASKING_WORD.sub("", question)))
        or _ends_on_the_asked(question, answer)
        or _defines_by_itself(question, answer)
    )


MAX_UNITS_ADDED = 1
MAX_UNITS_ADDED_EN = 0
MIN_UNITS_SAID = 3
"""An answer of at least MIN_UNITS_SAID content units (a bare "十日" is one: a value may fairly be short) that
adds at most MAX_UNITS_ADDED of them to its question (not a yes / no one) says nothing new: on the labelled set
every such pair is wrong. An English answer must add none: one word is often the whole value asked ("A reasonable
period of time.", "the percentage fee"), and English words are whole units where Chinese ones are two-character
pieces."""


_WHAT_IS = re.compile(r"^(?:what|which)\s+(?:is|are|was|were)\s+(?:the\s+)?(?P<asked>.+?)\s*\??$", re.IGNORECASE)
_TRAILING_CITATION = re.compile(r"\s*\d+\s+(?:U\.S\.C\.|C\.F\.R\.).*$|\s*Fed\.\s*R\..*$", re.DOTALL)
MIN_ASKED_WORDS = 4


def _words(text: str) -> list[str]:
    """Lower-case words, a plural's "s" dropped (requirements = requirement)."""
    return [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in re.findall(r"[a-z0-9]+", text.lower())]


def _ends_on_the_asked(question: str, answer: str) -> bool:
    """True when "What are X?" is answered by a sentence that ends on X (at least :data:`MIN_ASKED_WORDS` of
    its first words): "What are the guidelines or directives from the court or the clerk regarding …?" —
    "The disposition must be in accordance with the guidelines or directives from the court or the clerk."
    points at what was asked instead of saying it. An answer that opens with X and goes on ("The timeframe for
    paying the fees is thirty days") is an answer."""
    match = _WHAT_IS.match(question.strip())
    if match is None:
        return False
    asked = _words(match.group("asked"))
    said = _words(_TRAILING_CITATION.sub("", answer.strip()))
    return any(said[-size:] == asked[:size] for size in range(len(asked), MIN_ASKED_WORDS - 1, -1))


_ZH_WHAT_IS = re.compile(
    r"^\s*(?:什么是|何谓|何为)(?P<a>.+?)[？?。]*$|^\s*(?P<b>.+?)(?:是什么|是指什么|如何|怎样)[？?。]*$"
)
_ZH_SENTENCE_END = re.compile(r"[。；;]")
MIN_SUBJECT_CHARS = 6
SUBJECT_TAIL_CHARS = 8


def _defines_by_itself(question: str, answer: str) -> bool:
    """True when "什么是X？" / "X是什么？" / "X如何？" is answered by a first sentence that names X twice, once as
    its subject and again as what it says X is or does: "经济状况显著恶化是指：赠与人的经济状况显著恶化，……",
    "……结算和清理条款的效力不影响合同中结算和清理条款的效力。" (rounds 15-17 accepted five such; the labelled
    set holds 34, all wrong). X is compared by its last :data:`SUBJECT_TAIL_CHARS` characters, so "请求其承担违约
    责任的权利" repeats "请求出卖人承担违约责任的权利". A statute's own "……的，为农村承包经营户" (X named after
    为 / 列为) is a definition and is left alone."""
    match = _ZH_WHAT_IS.match(question)
    if match is None:
        return False
    subject = compact(match.group("a") or match.group("b") or "")
    if len(subject) < MIN_SUBJECT_CHARS:
        return False
    tail = subject[-SUBJECT_TAIL_CHARS:]
    first = compact(_ZH_SENTENCE_END.split(answer.strip(), maxsplit=1)[0])
    named = first.find(tail)
    again = first.find(tail, named + len(tail)) if named >= 0 else -1
    return again >= 0 and not first[:again].endswith("为")


_REFERENCE_ANSWER = re.compile(
    r"(?:(?:本法|根据|依照|见)?\s*第\s*[零〇一二两三四五六七八九十百千\d]+\s*[条款项](?:第\s*[零〇一二两三四五六七八九十百千\d]+\s*[款项])*"
    r"|(?:see\s+)?(?:article|section|amendment|clause)\s+[\divxlc]+(?:\s*\([a-z0-9]+\))*)[。.;；]?",
    re.IGNORECASE,
)
_ASKS_WHERE = re.compile(
    r"哪[一个]?[条款项]|第几[条款项]|哪里规定|什么(?:法律)?条文|哪(?:一|个)?(?:法律)?条文|出自|"
    r"(?:which|what)\s+(?:article|section|amendment|clause|provision)|where\b",
    re.IGNORECASE,
)


_POINTS_TO = re.compile(
    r"^.{0,160}?\b(?:is|are)\s+(?:set\s+(?:out|forth)|found|provided(?:\s+for)?|contained|codified|prescribed|"
    r"described|listed|stated|governed)\s+(?:in|at|under|by)\s+(?P<cited>.+)$"
    r"|^.{0,80}?(?:规定|载明|列明)(?:在|于)(?P<cited_zh>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_STATUTE_CITATION = re.compile(
    r"(?:(?:the\s+)?(?:Bankruptcy\s+)?Code\s+)?(?:\d+\s+(?:U\.S\.C\.|C\.F\.R\.)\s*)?(?:§+\s*)?"
    r"\d+(?:[.-]\d+)*(?:\s*\([a-zA-Z0-9]+\))*"
    r"(?:\s*(?:and|,|or|-|–|to|through)\s*(?:§+\s*)?\d+(?:[.-]\d+)*(?:\s*\([a-zA-Z0-9]+\))*)*"
    r"(?:\s+of\s+the\s+(?:Bankruptcy\s+)?Code)?[.;。]?",
    re.IGNORECASE,
)


def reference_only(question: str, answer: str) -> bool:
    """True when the answer is only a citation ("第一百三十五条") to a question that does not ask where a rule
    is: a 是否 question answered with an article number answers nothing. So is an answer that only says where
    the thing is set out ("The debtor's duty to file documents is set out in 11 U.S.C. § 521(a)(1)." for
    "What is the debtor's duty to file documents?": round 13 accepted one, the set holds three, all wrong)."""
    if _ASKS_WHERE.search(question):
        return False
    text = answer.strip()
    if _REFERENCE_ANSWER.fullmatch(text):
        return True
    pointer = _POINTS_TO.match(text)
    if pointer is None:
        return False
    cited = (pointer.group("cited") or pointer.group("cited_zh") or "").strip()
    return bool(cited) and bool(_REFERENCE_ANSWER.fullmatch(cited) or _STATUTE_CITATION.fullmatch(cited))


_LEAD_IN = re.compile(r"下列|如下|以下|the following", re.IGNORECASE)


def lead_in_only(answer: str) -> bool:
    """True when the whole answer is a list's lead-in ("符合下列情形之一的，个人信息处理者方可处理个人信息："): the
    items that answer the question are not there. Round 15 accepted one; the set's 21 such answers are all
    wrong. A lead-in after a stated rule ("……并处罚金；有下列情形之一的，处五年以上……：") is left alone."""
    text = answer.strip()
    if not text.endswith(("：", ":")):
        return False
    return not re.search(r"[。；;]", text[:-1]) and bool(_LEAD_IN.search(text))


def precheck(sample: Sample, source: str, language: str, *, grounded: bool = True) -> str | None:
    """Reason code for an obviously bad sample, or None when it deserves a model review.

    ``grounded=False`` (distillation from a topic: there is no source text) skips the copy, lexical support
    and citation checks. Citing an article the source does not contain counts as invented in every domain: a
    sample is trained on its source alone, so a citation from elsewhere cannot be checked."""
    question, answer = sample.question.strip(), sample.answer.strip()
    if sample.turns is not None:
        answer = " ".join(t.get("content", "") for t in sample.turns if t.get("role") == "assistant").strip()
    if not question or not answer:
        return "precheck:empty"
    if len(question) < MIN_QUESTION_CHARS or len(answer) < MIN_ANSWER_CHARS:
        return "precheck:too_short"
    if sample.turns is None and not looks_like_question(question):
        return "precheck:not_a_question"
    if sample.turns is None and answer_in_question(question, answer):
        return "precheck:answer_in_question"
    if sample.turns is None and reference_only(question, answer):
        return "precheck:reference_only"
    if sample.turns is None and lead_in_only(answer):
        return "precheck:lead_in_only"
    if detect_language(question + " " + answer) != language:
        return "precheck:wrong_language"
    if not grounded:
        return None
    compact_source = re.sub(r"\s+", "", source)
    compact_answer = re.sub(r"\s+", "", answer)
    if len(compact_answer) >= COPY_FRACTION * len(compact_source) and compact_answer in compact_source:
        return "precheck:copied_source"
    if lexical_support(supported_text(question, answer), source, language) < MIN_SUPPORT:
        return "precheck:unsupported"
    if invented_citations(question + " " + answer, source):
        return "precheck:invented_citation"
    return None


class PairReview(BaseModel):
    index: int = Field(description="1-based number of the pair being reviewed.")
    grounded: int = Field(ge=1, le=5)
    question: int = Field(ge=1, le=5)
    answer: int = Field(ge=1, le=5)
    language: int = Field(ge=1, le=5)
    rationale: str = ""
    feedback: str = ""
    label: str = Field(default="", description="Label from the given label tree, when one was given.")


class ReviewBatch(BaseModel):
    reviews: list[PairReview]


def verdict_from(
    review: PairReview, threshold: float, reviewer: str, revise_threshold: float | None = None
) -> ReviewVerdict:
    """Scores -> verdict. ``revise`` needs both a middling total and concrete feedback to act on."""
    scores = ReviewScores(
        grounded=(review.grounded - 1) / 4,
        question=(review.question - 1) / 4,
        answer=(review.answer - 1) / 4,
        language=(review.language - 1) / 4,
    )
    total = round(sum(getattr(scores, name) * weight for name, weight in WEIGHTS.items()), 4)
    decision: Decision = "reject"
    if total >= threshold:
        decision = "accept"
    elif revise_threshold is not None and total >= revise_threshold and review.feedback.strip():
        decision = "revise"
    return ReviewVerdict(
        decision=decision,
        total=total,
        scores=scores,
        rationale=review.rationale,
        feedback=review.feedback,
        reviewer=reviewer,
    )


_NO_SOURCE = {
    "zh": "（没有原始资料：这些问答是围绕主题“{topic}”写的。grounded 按事实是否准确、有无编造来打分。）",
    "en": "(No source document: these pairs were written about the topic '{topic}'. Score grounded on "
    "factual accuracy and the absence of invented facts.)",
}
_EVIDENCE_ONLY = {
    "zh": "（每条问答下面的“依据”是从原始资料中定位到的原文；请只按依据审核：答案是否回答了问题、是否被依据支持。）",
    "en": "(Under each pair, 'Evidence' is the text located in the source for its answer; review against that "
    "evidence only: does the answer answer the question, and does the evidence support it?)",
}


@dataclass
class ReviewResult:
    verdicts: dict[str, ReviewVerdict] = field(default_factory=dict)
    to_revise: dict[str, ReviewVerdict] = field(default_factory=dict)
    scored: dict[str, ReviewVerdict] = field(default_factory=dict)
    """Every verdict the reviewer model gave, whatever the decision (preference and reward data use them)."""
    labels: dict[str, str] = field(default_factory=dict)
    rejected: list[ItemOutcome] = field(default_factory=list)
    failed: list[ItemOutcome] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)
    prompt_version: str = ""
    to_judge: list[Sample] = field(default_factory=list)
    """After :func:`check_samples`: the samples that passed every check, waiting for the judge."""


_EVIDENCE_LABEL = {"zh": "依据", "en": "Evidence"}


def _format_one(number: int, sample: Sample, language: str = "en") -> str:
    if sample.turns:
        lines = [f"{number}. Q: (dialogue)"]
        lines += [f"   {t.get('role', '?')}: {t.get('content', '')}" for t in sample.turns]
        return "\n".join(lines)
    text = f"{number}. Q: {sample.question}\n   A: {sample.answer}"
    if sample.chain_of_thought:
        text += "\n   Reasoning: " + " / ".join(sample.chain_of_thought)
    if sample.evidence:
        label = _EVIDENCE_LABEL.get(language, _EVIDENCE_LABEL["en"])
        text += f"\n   {label}: " + evidence_text(sample.evidence).replace("\n", " / ")
    return text


def _format_pairs(samples: list[Sample], language: str = "en") -> str:
    return "\n".join(_format_one(number, sample, language) for number, sample in enumerate(samples, 1))


async def review_samples(
    chunk: Chunk,
    samples: list[Sample],
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    prompt_dir: Path | None = None,
    labels: LabelTree | None = None,
    grounded: bool = True,
    evidence_checks: bool = True,
    check_answers: bool = False,
    call_judge: bool = True,
) -> ReviewResult:
    """Verdict for every sample: accepted ones in ``verdicts``, ``revise`` ones (with feedback) in
    ``to_revise``, the rest rejected or failed with a reason. With ``labels``, accepted and revise-bound
    samples also get a label in ``labels`` (sample_id -> label) from the same call.
    ``evidence_checks=False`` gives the review as it was before the checks (pre-check and judge on the whole
    chunk): the baseline bench/bench_critique.py measures them against.

    The review is two LLM steps, :func:`check_samples` (pre-check, code checks, the round-trip call) then
    :func:`judge_samples` (the rubric call); the per-chunk flow runs them as two checkpointed steps."""
    checked = await check_samples(
        chunk,
        samples,
        llm,
        settings,
        prompt_dir=prompt_dir,
        grounded=grounded,
        evidence_checks=evidence_checks,
        check_answers=check_answers,
    )
    return await judge_samples(
        chunk, checked, llm, settings, prompt_dir=prompt_dir, labels=labels, grounded=grounded, call_judge=call_judge
    )


def _review_language(chunk: Chunk, samples: list[Sample], settings: BuildSettings, grounded: bool) -> str:
    language = chunk_language(chunk, settings.language)
    if not grounded and settings.language == "auto" and samples and samples[0].language:
        language = samples[0].language  # a topic "chunk" is a few words: the samples know their language
    return language


async def check_samples(
    chunk: Chunk,
    samples: list[Sample],
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    prompt_dir: Path | None = None,
    grounded: bool = True,
    evidence_checks: bool = True,
    check_answers: bool = False,
) -> ReviewResult:
    """The review's first step: the lexical pre-check, the code checks, the round-trip call and (with
    ``check_answers``, ``task_table.answer_check_called``) one scoring request per sample still standing.
    Rejections and pre-check revisions are decided here; what passed waits in ``to_judge``."""
    settings = settings or BuildSettings()
    prompt_dir = prompt_dir or settings.prompt_dir
    language = _review_language(chunk, samples, settings, grounded)
    result = ReviewResult()
    to_review: list[Sample] = []
    for sample in samples:
        reason = precheck(sample, chunk.text, language, grounded=grounded)
        if reason is None:
            to_review.append(sample)
        elif (revision := precheck_revision(reason, language)) is not None:
            result.to_revise[sample.sample_id] = revision
        else:
            result.rejected.append(
                ItemOutcome(
                    item_id=sample.sample_id,
                    kind="sample",
                    status="rejected",
                    reason=reason,
                    detail=sample.question[:200],
                )
            )
    if grounded and evidence_checks and sample_kind_checks(to_review):
        to_review = await _checked(chunk, to_review, llm, settings, language, prompt_dir, result, check_answers)
    result.to_judge = to_review
    return result


async def judge_samples(
    chunk: Chunk,
    checked: ReviewResult,
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    prompt_dir: Path | None = None,
    labels: LabelTree | None = None,
    grounded: bool = True,
    call_judge: bool = True,
) -> ReviewResult:
    """The review's second step: the rubric judge over ``checked.to_judge`` (one call, more only when its
    reply is unusable), completing ``checked`` (returned, with the verdicts added). ``call_judge=False`` accepts
    what passed every check without a call (``task_table.judge_called``): the verdict says so, with no scores."""
    settings = settings or BuildSettings()
    prompt_dir = prompt_dir or settings.prompt_dir
    to_review = list(checked.to_judge)
    result = checked
    result.to_judge = []
    if not to_review:
        return result
    if not call_judge and all(sample.evidence for sample in to_review):
        for sample in to_review:
            result.verdicts[sample.sample_id] = result.scored[sample.sample_id] = ReviewVerdict(
                decision="accept",
                total=1.0,
                rationale="passed every check (evidence located, key terms, facts, polarity, round trip, answer); "
                "no judge",
                reviewer=CHECKS,
            )
        return result
    language = _review_language(chunk, to_review, settings, grounded)
    template = load_template("qa_review", language, prompt_dir)
    result.prompt_version = template.version
    preset = domain_preset(settings.domain, language, prompt_dir)
    reviews: dict[str, PairReview] = {}

    async def judge(batch: list[Sample]) -> tuple[str, str]:
        """One rubric call for ``batch``; its reviews go into ``reviews``; the failure (reason, detail) or ("", "")."""
        messages = template.render(
            domain_name=preset.name,
            domain_guidance=preset.review_guidance,
            chunk=_judge_source(chunk, batch, grounded, language),
            pairs=_format_pairs(batch, language),
            n_pairs=len(batch),
            label_instruction=label_instruction(labels, language),
        )
        call = await call_structured(llm, messages, ReviewBatch, exact_items_schema(ReviewBatch, "reviews", len(batch)))
        result.usage = result.usage + call.usage
        if call.value is None:
            return f"review:{call.failure_reason}", call.failure_detail
        assert isinstance(call.value, ReviewBatch)
        by_number = {review.index: review for review in call.value.reviews}
        for number, sample in enumerate(batch, 1):
            if number in by_number:
                reviews[sample.sample_id] = by_number[number]
        return "", ""

    # One batched call. Pairs it skipped get one more batched call; when the batch reply could not be used at
    # all (a small model's reply to many pairs is often cut off), each pair gets a call of its own instead,
    # so one broken reply never leaves a whole chunk without verdicts.
    failure = await judge(list(to_review))
    pending = [sample for sample in to_review if sample.sample_id not in reviews]
    if pending and failure[0] and len(pending) > 1:
        for sample in pending:
            one = await judge([sample])
            failure = one if one[0] else failure
    elif pending and not failure[0]:
        again = await judge(pending)
        failure = again if again[0] else failure
    for sample in to_review:
        review = reviews.get(sample.sample_id)
        if review is None:
            reason, detail = failure if failure[0] else ("review:missing_score", "the reviewer returned no score")
            result.failed.append(
                ItemOutcome(item_id=sample.sample_id, kind="sample", status="failed", reason=reason, detail=detail)
            )
            continue
        verdict = verdict_from(review, settings.accept_threshold, llm.label, settings.revise_threshold)
        result.scored[sample.sample_id] = verdict
        if sample.evidence:
            judged = CheckResult(name=JUDGE, passed=verdict.decision == "accept", detail=f"total {verdict.total:.2f}")
            sample.checks = [*sample.checks, judged]
        if labels is not None:
            label = labels.resolve(review.label)
            if label is not None:
                result.labels[sample.sample_id] = label
        if verdict.decision == "accept":
            result.verdicts[sample.sample_id] = verdict
        elif verdict.decision == "revise":
            result.to_revise[sample.sample_id] = verdict
        else:
            result.rejected.append(
                ItemOutcome(
                    item_id=sample.sample_id,
                    kind="sample",
                    status="rejected",
                    reason="review:below_threshold",
                    detail=f"score {verdict.total:.2f} < {settings.accept_threshold:.2f}: {verdict.rationale}",
                )
            )
    return result


def explained(outcome: ItemOutcome) -> bool:
    """Failures and failed checks carry their reason in the detail; other rejections only in the code."""
    return outcome.status == "failed" or outcome.reason.startswith("check:")


def sample_kind_checks(samples: list[Sample]) -> bool:
    """The evidence checks apply to single-answer samples (qa, cot, ...); a dialogue has no one answer."""
    return any(sample.turns is None for sample in samples)


def _judge_source(chunk: Chunk, samples: list[Sample], grounded: bool, language: str) -> str:
    """What the judge reads as the source: the topic note (distillation), the located evidence under each
    pair when every pair has some (it then never sees the whole chunk), else the chunk."""
    if not grounded:
        return _NO_SOURCE[language].format(topic=chunk.text)
    if samples and all(sample.evidence for sample in samples):
        return _EVIDENCE_ONLY.get(language, _EVIDENCE_ONLY["en"])
    return chunk.text


async def _checked(
    chunk: Chunk,
    samples: list[Sample],
    llm: ChatModel,
    settings: BuildSettings,
    language: str,
    prompt_dir: Path | None,
    result: ReviewResult,
    check_answers: bool,
) -> list[Sample]:
    """Run the code checks, then (for what passed) the answer check, then the round trip; reject every sample
    that fails one with ``check:<name>``, and return the ones left for the judge. Dialogue samples pass
    through unchecked.

    The answer check scores first because it is cheap (a prompt-only request) and decides most samples. The
    round trip (one generated reply per chunk) then runs only for the samples whose decision it can still
    change (:func:`answer_check.round_trip_can_change`): without a score, or scored below the threshold for an
    answer it does not confirm; there a sample it does not confirm is rejected. For the others its verdict is
    recorded as not counted, with the score that made it moot."""
    from ftds.tools.generation.answer_check import (
        answer_checks,
        round_trip_can_change,
        thresholds,
        unconfirmed_rejection,
    )
    from ftds.tools.generation.round_trip import round_trip

    passed: list[Sample] = []
    for sample in samples:
        if sample.turns is not None:
            passed.append(sample)
            continue
        sample.checks = []  # a revised sample is checked afresh
        failure = first_failure(run_code_checks(sample, chunk))
        if failure is None:
            passed.append(sample)
        elif failure.name == KEY_TERMS and failure.detail == PENALTY_INSTEAD:
            result.to_revise[sample.sample_id] = _ask_again(failure, language)
        else:
            _reject_for(sample, failure, result)
    single = [sample for sample in passed if sample.turns is None]
    answers: dict[str, CheckResult] = {}
    if check_answers and single:
        answers, usage = await answer_checks(chunk, single, llm, language, settings, prompt_dir=prompt_dir)
        result.usage = result.usage + usage
    bars = thresholds(language, settings, prompt_dir)  # the unconfirmed bar applies only to a scored sample
    trips: dict[str, CheckResult] = {}
    if settings.round_trip:
        alive = [sample for sample in single if answers.get(sample.sample_id, _NO_ANSWER_CHECK).passed]
        asked = [sample for sample in alive if round_trip_can_change(answers.get(sample.sample_id), bars)]
        if asked:
            trip = await round_trip(chunk, asked, llm, language, settings, prompt_dir=prompt_dir)
            result.usage = result.usage + trip.usage
            for sample_id, check in trip.results.items():
                trips[sample_id] = check if check.passed else unconfirmed_rejection(check, answers.get(sample_id), bars)
        for sample in alive:
            if sample.sample_id not in trips:
                moot = f"{NOT_RUN} {answers[sample.sample_id].detail} keeps it whatever the round trip says"
                trips[sample.sample_id] = CheckResult(name=ROUND_TRIP, passed=True, detail=moot)
    passed = _keep_passing(passed, trips, result)
    return _keep_passing(passed, answers, result)


_NO_ANSWER_CHECK = CheckResult(name=ANSWERS, passed=True)
"""Stands in for the answer check where it did not run: every sample goes on to the round trip."""


def _keep_passing(samples: list[Sample], checks: dict[str, CheckResult], result: ReviewResult) -> list[Sample]:
    """Record each sample's check (a sample with none passes through) and reject the ones that failed it."""
    kept: list[Sample] = []
    for sample in samples:
        check = checks.get(sample.sample_id)
        if check is None:
            kept.append(sample)
            continue
        sample.checks = [*sample.checks, check]
        if check.passed:
            kept.append(sample)
        else:
            _reject_for(sample, check, result)
    return kept


_ASK_FOR_THE_PENALTY = {
    "zh": "这一条的答案是原文对某一行为的处罚规定，问题却问这一行为“是什么”。"
    "请改写问题，问这一行为如何处罚；答案不变。",
    "en": "The answer gives the source's penalty for an act, but the question asks what the act is. Ask instead how "
    "the act is punished; the answer stays.",
}


def _ask_again(check: CheckResult, language: str) -> ReviewVerdict:
    """A ``revise`` verdict for a pair whose answer is right but whose question asks for something else (the
    answer is a penalty, the question asks what the act is): the revision cuts the question this answer
    answers from the answer itself (``revise.revise_samples``, ``checks.penalty_question``). Left unrevised it
    is rejected as ``check:<name>``."""
    return ReviewVerdict(
        decision="revise",
        total=0.0,
        rationale=f"check:{check.name}",
        feedback=_ASK_FOR_THE_PENALTY.get(language, _ASK_FOR_THE_PENALTY["en"]),
        reviewer=f"check:{check.name}",
    )


def _reject_for(sample: Sample, check: CheckResult, result: ReviewResult) -> None:
    """Reject on a failed check, with a zero score in ``scored`` too: preference and reward data then rank
    the sample last instead of losing it, and no judge score can lift it."""
    result.rejected.append(
        ItemOutcome(
            item_id=sample.sample_id,
            kind="sample",
            status="rejected",
            reason=f"check:{check.name}",
            detail=f"{check.detail} | {sample.question[:160]}",
        )
    )
    result.scored[sample.sample_id] = ReviewVerdict(
        decision="reject", total=0.0, rationale=f"{check.name}: {check.detail}", reviewer=f"check:{check.name}"
    )


async def critique_pairs(
    chunk: Chunk,
    pairs: list[tuple[str, str]],
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    prompt_dir: Path | None = None,
    check_answers: bool = False,
    call_judge: bool = True,
) -> tuple[list[PairCritique], TokenUsage]:
    """Review (question, answer) pairs someone else wrote against ``chunk`` with the same steps as generated
    samples: pre-check, code checks (evidence located, key terms, facts, polarity), round trip, rubric call
    (when ``call_judge``, as in a build). Every pair gets one critique, with its located evidence and every
    check's verdict (``check_answers``, ``call_judge``: ``task_table.answer_check_called`` / ``judge_called``)."""
    settings = settings or BuildSettings()
    language = chunk_language(chunk, settings.language)
    samples = [
        Sample(
            sample_id=f"{index}:{Sample.new_id(chunk.chunk_id, q, a)}",
            question=q,
            answer=a,
            domain=settings.domain,
            language=language,
            provenance=chunk.provenance,
            model="user",
            prompt_version="user",
        )
        for index, (q, a) in enumerate(pairs, 1)
    ]
    review = await review_samples(
        chunk, samples, llm, settings, prompt_dir=prompt_dir, check_answers=check_answers, call_judge=call_judge
    )
    outcomes = {item.item_id: item for item in [*review.rejected, *review.failed]}
    critiques: list[PairCritique] = []
    for index, sample in enumerate(samples, 1):
        found = {"evidence": sample.evidence, "checks": sample.checks}
        verdict = review.scored.get(sample.sample_id) or review.to_revise.get(sample.sample_id)
        outcome = outcomes.get(sample.sample_id)
        if verdict is not None and verdict.from_code and verdict.decision == "revise":  # a rewrite can mend it
            critiques.append(
                PairCritique(
                    index=index,
                    question=sample.question,
                    decision="revise",
                    feedback=verdict.feedback,
                    reason=verdict.rationale,
                    **found,
                )
            )
        elif verdict is not None:
            critiques.append(
                PairCritique(
                    index=index,
                    question=sample.question,
                    decision=verdict.decision,
                    total=verdict.total,
                    scores=verdict.scores,
                    rationale=verdict.rationale,
                    feedback=verdict.feedback,
                    reason=outcome.reason if outcome else "",
                    **found,
                )
            )
        else:
            assert outcome is not None, "review_samples accounts for every sample"
            critiques.append(
                PairCritique(
                    index=index,
                    question=sample.question,
                    decision="failed" if outcome.status == "failed" else "reject",
                    reason=outcome.reason,
                    rationale=outcome.detail if explained(outcome) else "",
                    **found,
                )
            )
    return critiques, review.usage
