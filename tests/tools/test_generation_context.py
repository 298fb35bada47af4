"""``with_context``: the located evidence as the record's context, in each record layout."""

from ftds.tools.generation.context import with_context
from ftds.tools.records import EvidenceSpan, Provenance, Sample

EVIDENCE = "非全日制用工双方当事人不得约定试用期。"


def _sample(evidence: list[EvidenceSpan]) -> Sample:
    return Sample(
        sample_id="s1",
        question="非全日制用工可以约定试用期吗？",
        answer="不可以，非全日制用工双方当事人不得约定试用期。",
        domain="law",
        language="zh",
        provenance=Provenance(source="劳动合同法.md", char_start=100, char_end=400),
        model="m",
        prompt_version="v",
        evidence=evidence,
    )


SAMPLE = _sample([EvidenceSpan(char_start=200, char_end=220, text=EVIDENCE)])


def test_alpaca_records_get_the_passage_as_input() -> None:
    record = {"instruction": SAMPLE.question, "input": "", "output": SAMPLE.answer}
    out = with_context(record, SAMPLE)
    assert out["input"] == f"参考资料：\n{EVIDENCE}" and record["input"] == ""  # the original is untouched


def test_sharegpt_and_openai_records_get_it_as_the_system_prompt() -> None:
    sharegpt = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}
    assert with_context(sharegpt, SAMPLE)["system"] == EVIDENCE
    messages = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    out = with_context(messages, SAMPLE)["messages"]
    assert out[0] == {"role": "system", "content": EVIDENCE} and len(out) == 3


def test_a_sample_without_evidence_is_left_as_it_was() -> None:
    record = {"instruction": "q", "input": "", "output": "a"}
    assert with_context(record, _sample([])) == record
