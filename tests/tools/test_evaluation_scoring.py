"""Scoring replies of a model under test (robust answer extraction) and the paired statistics."""

import math

import pytest

from ftds.tools.evaluation.items import MultipleChoiceItem, ShortAnswerItem, SingleChoiceItem, TrueFalseItem
from ftds.tools.evaluation.score import extract_letters, extract_truth, score_exact, short_matches
from ftds.tools.evaluation.stats import mcnemar_exact, paired_bootstrap
from ftds.tools.records import Provenance

OPTIONS = ["三十日", "六十日", "九十日", "一年"]
BASE = {
    "domain": "law",
    "language": "zh",
    "provenance": Provenance(source="law.md", char_start=0, char_end=10),
    "model": "m",
    "prompt_version": "v",
}


@pytest.mark.parametrize(
    "reply",
    [
        "B",
        "答案：B",
        "答案是 B。",
        "正确答案为（B）",
        "(B)",
        "B. 六十日",
        "B、六十日",
        "Answer: B",
        "The answer is B.",
        "<think>A 看起来不对，C 也不对</think>答案：B",
        "根据规定，应当在六十日内处理。",
        "分析：A 项错误，C 项错误。\n\n答案：B",
    ],
)
def test_the_chosen_letter_is_read_from_every_common_format(reply: str) -> None:
    assert extract_letters(reply, OPTIONS) == ["B"]


@pytest.mark.parametrize("reply", ["我不确定。", "A 或 B 都有可能", ""])
def test_a_reply_naming_no_single_option_scores_wrong(reply: str) -> None:
    item = SingleChoiceItem(**BASE, item_id="s", question="q", options=OPTIONS, answer="B")
    correct, _ = score_exact(item, reply)
    assert not correct


@pytest.mark.parametrize("reply", ["答案：AC", "答案：A、C", "A, C", "Answer: A and C", "答案：CA"])
def test_multiple_answers_are_read_as_a_set(reply: str) -> None:
    item = MultipleChoiceItem(**BASE, item_id="m", question="q", options=OPTIONS, answers=["A", "C"])
    assert score_exact(item, reply) == (True, "AC")


def test_multiple_choice_needs_exactly_the_right_set() -> None:
    item = MultipleChoiceItem(**BASE, item_id="m", question="q", options=OPTIONS, answers=["A", "C"])
    assert not score_exact(item, "答案：ABC")[0]
    assert not score_exact(item, "答案：A")[0]


@pytest.mark.parametrize(
    ("reply", "truth"),
    [
        ("正确", True),
        ("答案：正确", True),
        ("这个说法是错误的。\n答案：错误", False),
        ("不正确。", False),
        ("错", False),
        ("对，法律就是这样规定的。", True),
        ("Answer: False", False),
        ("True. The statute says so.", True),
        ("The statement is incorrect.", False),
        ("无法判断", None),
    ],
)
def test_true_false_replies_are_read(reply: str, truth: bool | None) -> None:
    assert extract_truth(reply) is truth


def test_true_false_scoring_counts_an_unreadable_reply_wrong() -> None:
    item = TrueFalseItem(**BASE, item_id="t", question="statement", answer=False)
    assert score_exact(item, "答案：错误") == (True, "false")
    assert score_exact(item, "我不知道") == (False, "")


def test_short_answers_match_accepted_variants_but_not_a_list_of_guesses() -> None:
    item = ShortAnswerItem(**BASE, item_id="a", question="期限是多久？", answer="三十日", accepted=["30日", "30天"])
    assert score_exact(item, "答案：30日")[0]
    assert score_exact(item, "应当在三十日内。")[0]
    assert score_exact(item, "The answer is 30天")[0]
    assert not score_exact(item, "答案：六十日")[0]
    assert not short_matches("可能是十日、二十日、三十日、四十日、五十日、六十日、七十日、八十日", item.variants)


def test_mcnemar_exact_matches_the_binomial_tail() -> None:
    a = [True] * 5 + [False] * 6 + [True] * 2 + [False] * 3
    b = [True] * 5 + [True] * 6 + [False] * 2 + [False] * 3
    result = mcnemar_exact(a, b)
    assert (result.a_only, result.b_only, result.both, result.neither) == (2, 6, 5, 3)
    expected = 2 * sum(math.comb(8, k) for k in range(3)) / 2**8
    assert result.p_value == pytest.approx(expected)
    scipy_stats = pytest.importorskip("scipy.stats")
    assert result.p_value == pytest.approx(scipy_stats.binomtest(2, 8, 0.5).pvalue)
    assert mcnemar_exact([True, False], [True, False]).p_value == 1.0
    assert mcnemar_exact([False] * 6, [True] * 6).p_value == pytest.approx(2 / 64)


def test_paired_bootstrap_brackets_the_mean_difference() -> None:
    a = [0.0, 0.5, 1.0, 0.0, 1.0, 0.5, 0.0, 1.0] * 5
    b = [x + 0.25 if x < 1 else x for x in a]
    result = paired_bootstrap(a, b, resamples=500, seed=3)
    assert result.difference == pytest.approx(sum(y - x for x, y in zip(a, b, strict=True)) / len(a))
    assert result.low <= result.difference <= result.high and result.low > 0
    same = paired_bootstrap(a, a, resamples=200)
    assert same.low == same.high == same.difference == 0
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 0.0])
