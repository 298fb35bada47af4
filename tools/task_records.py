"""Each task type's record shape, as listed in the dataset notes (one writer per task, one place).

These are the plain task-type records (``{"text", "label"}``, ``{"instruction", "input",
"chain_of_thought", "output"}``, ...). The trainer formats (Alpaca, ShareGPT, OpenAI) are written by
:mod:`ftds.tools.formats`; this module is for users who want the task-shaped JSONL itself.
"""

from __future__ import annotations

from typing import Any

from ftds.tools.records import Sample

DOMAIN_NAMES_ZH = {"law": "法律", "medicine": "医疗", "finance": "金融", "general": "通用"}


def task_record(sample: Sample, *, kind: str | None = None) -> dict[str, Any]:
    """The record for ``kind`` (default: the sample's own task), with ``id`` for traceability."""
    kind = kind or sample.task
    record: dict[str, Any]
    if kind in ("qa", "distill"):
        record = {"instruction": sample.question, "input": "", "output": sample.answer}
    elif kind == "sft":
        record = {"input": sample.question, "output": sample.answer}
    elif kind == "domain":
        record = {
            "instruction": sample.question,
            "input": "",
            "output": sample.answer,
            "domain": DOMAIN_NAMES_ZH.get(sample.domain, sample.domain) if sample.language == "zh" else sample.domain,
        }
    elif kind == "cot":
        steps = sample.chain_of_thought or ([sample.reasoning] if sample.reasoning else [])
        record = {"instruction": sample.question, "input": "", "chain_of_thought": steps, "output": sample.answer}
    elif kind == "dialogue":
        turns = sample.turns or [
            {"role": "user", "content": sample.question},
            {"role": "assistant", "content": sample.answer},
        ]
        record = {"dialogue": turns}
    elif kind == "classification":
        record = {"text": sample.question, "label": sample.label or sample.answer}
    elif kind == "reward":
        if sample.reward_score is None:
            raise ValueError(f"sample {sample.sample_id} has no reward_score; review it first")
        record = {"input": sample.question, "output": sample.answer, "reward_score": sample.reward_score}
    elif kind == "preference":
        if sample.rejected_answer is None:
            raise ValueError(f"sample {sample.sample_id} has no rejected answer; build it with preference_pairs")
        record = {"prompt": sample.question, "chosen": sample.answer, "rejected": sample.rejected_answer}
    elif kind == "pretraining":
        record = {"text": f"{sample.question}\n{sample.answer}"}
    else:
        raise ValueError(
            f"unknown task {kind!r}; use one of qa, sft, domain, cot, dialogue, classification, reward, "
            "preference, pretraining, distill"
        )
    return {"id": sample.sample_id, **record}
