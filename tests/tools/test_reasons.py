"""Reason codes: one namespace, one rule (STAGE:WHAT), refused when broken."""

import pytest
from pydantic import ValidationError

from ftds.tools.reasons import CALL_FAILURES, Reason, Stage, call_failure, check_reason
from ftds.tools.records import ItemOutcome


def test_every_fixed_code_follows_the_rule() -> None:
    for reason in Reason:
        stage, _, what = reason.value.partition(":")
        assert check_reason(reason.value) == reason.value
        assert stage in {s.value for s in Stage} or reason in (Reason.DUPLICATE, Reason.OVER_TARGET) or what


def test_a_failed_call_is_its_stage_and_one_of_the_call_failures() -> None:
    assert [call_failure(Stage.REVIEW, kind) for kind in CALL_FAILURES] == [
        "review:empty",
        "review:refusal",
        "review:unparseable",
        "review:llm_error",
    ]


@pytest.mark.parametrize("code", ["Bad reason", "review", "nostage:thing", "review:Not Snake"])
def test_an_item_outcome_refuses_a_code_that_breaks_the_rule(code: str) -> None:
    with pytest.raises(ValidationError, match="breaks the rule"):
        ItemOutcome(item_id="s1", kind="sample", status="rejected", reason=code)


def test_a_file_outcome_keeps_the_readers_sentence() -> None:
    sentence = "a.pdf: encrypted; remove the password and try again"
    assert ItemOutcome(item_id="a.pdf", kind="file", status="failed", reason=sentence).reason == sentence


def test_a_reason_member_is_stored_as_its_plain_code() -> None:
    outcome = ItemOutcome(item_id="s1", kind="sample", status="rejected", reason=Reason.OVER_TARGET)
    assert type(outcome.reason) is str and outcome.model_dump(mode="json")["reason"] == "over_target"
