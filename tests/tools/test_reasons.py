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


def test_a_duplicate_cluster_joined_by_exact_and_near_matches_has_a_valid_reason() -> None:
    from ftds.tools.config import DedupeSettings
    from ftds.tools.dataset.dedupe import dedupe_samples
    from ftds.tools.records import Provenance, Sample

    def sample(n: int, answer: str) -> Sample:
        provenance = Provenance(source="a.md", char_start=0, char_end=1)
        return Sample(
            sample_id=f"s{n}", question="数据怎样保护？", answer=answer, domain="law", provenance=provenance,
            model="m", prompt_version="1",
        )  # fmt: skip

    answer = (
        "国家建立数据分类分级保护制度，根据数据在经济社会发展中的重要程度，"
        "以及一旦遭到篡改、破坏、泄露所造成的危害程度进行保护。"
    )
    samples = [sample(0, answer), sample(1, answer), sample(2, answer.replace("国家建立", "国家建设"))]
    kept, dropped = dedupe_samples(samples, DedupeSettings(), ["exact", "near"])
    assert len(kept) == 1 and len(dropped) == 2
    assert [d.reason for d in dropped] == ["duplicate:mixed", "duplicate:mixed"]  # crashed before: no such code
