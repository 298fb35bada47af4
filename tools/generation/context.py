"""Carry a sample's located evidence into its exported record, for retrieval-augmented fine-tuning.

``--with-context`` exports teach a model to answer from a given passage (the RAG setting) instead of from
memory: the passage is the evidence located by code for the sample (never the model's own quote), put
where each record layout expects context — ``input`` for Alpaca-style records (instruction / input /
output), ``system`` for ShareGPT (``conversations``) and a leading system message for OpenAI ``messages``.
"""

from __future__ import annotations

import copy
from typing import Any

from ftds.tools.generation.evidence import evidence_text
from ftds.tools.records import Sample

CONTEXT_HEADER = {"zh": "参考资料：", "en": "Reference:"}


def context_passage(sample: Sample) -> str:
    """The located evidence of ``sample`` as one passage (empty when it has none)."""
    return evidence_text(sample.evidence).strip()


def with_context(record: dict[str, Any], sample: Sample) -> dict[str, Any]:
    """A copy of ``record`` with the sample's evidence as context; the record unchanged (a copy) when the
    sample has no evidence, so the caller can count such records instead of exporting an empty context."""
    passage = context_passage(sample)
    out = copy.deepcopy(record)
    if not passage:
        return out
    if "conversations" in out:  # ShareGPT: LLaMA-Factory reads the "system" column as the system prompt
        out["system"] = passage if not out.get("system") else f"{out['system']}\n\n{passage}"
    elif "messages" in out:  # OpenAI chat: a leading system message
        messages = list(out["messages"])
        if messages and messages[0].get("role") == "system":
            messages[0] = {**messages[0], "content": f"{messages[0]['content']}\n\n{passage}"}
        else:
            messages.insert(0, {"role": "system", "content": passage})
        out["messages"] = messages
    else:  # Alpaca-like: the passage is the input the instruction is applied to
        header = CONTEXT_HEADER.get(sample.language or "en", CONTEXT_HEADER["en"])
        given = str(out.get("input") or "").strip()
        out["input"] = f"{header}\n{passage}" + (f"\n\n{given}" if given else "")
    return out
