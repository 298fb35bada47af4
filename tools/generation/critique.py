"""Audit an existing Q&A set against its documents: locate each pair's chunk, run the same checks as a build.

``ftds-agent critique PAIRS --source DOCS`` and MCP ``critique_qa`` share ``review.critique_pairs``;
this module adds what a set written elsewhere needs first: reading the pairs (JSON / JSONL with
question/answer, instruction/output or prompt/response), and finding for each pair the chunk of the source
documents that holds its answer (the one covering most of the answer's and the question's content). A pair
whose answer no chunk supports gets a ``reject`` verdict (``check:evidence``), never silence: every pair in
the input gets exactly one verdict, in input order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from ftds.tools.config import Settings
from ftds.tools.generation.checks import EVIDENCE
from ftds.tools.generation.evidence import content_units
from ftds.tools.llm.base import ChatModel
from ftds.tools.records import CheckResult, Chunk, PairCritique, TokenUsage

MIN_CHUNK_SUPPORT = 0.3
"""Least share of a pair's answer content the best chunk must hold to be taken as the pair's source."""
_FIELDS = (("question", "answer"), ("instruction", "output"), ("prompt", "response"), ("query", "response"))


class PairsError(ValueError):
    """The pairs file cannot be read; the message says what is wrong and what to do."""


class InputPair(BaseModel):
    index: int = Field(description="1-based position in the input.")
    question: str
    answer: str


class PairVerdict(PairCritique):
    """A critique plus where the pair was found: the source file and the chunk it was checked against."""

    source: str | None = None
    chunk_id: str | None = None


@dataclass
class CritiqueRun:
    verdicts: list[PairVerdict] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)

    def count(self, decision: str) -> int:
        return sum(1 for v in self.verdicts if v.decision == decision)


def _pair_of(record: object, index: int) -> InputPair:
    if not isinstance(record, dict):
        raise PairsError(f"record {index} is not a JSON object; each pair needs question and answer fields")
    for q_key, a_key in _FIELDS:
        if isinstance(record.get(q_key), str) and isinstance(record.get(a_key), str):
            question = record[q_key]
            if q_key == "instruction" and isinstance(record.get("input"), str) and record["input"].strip():
                question = f"{question}\n{record['input']}"
            return InputPair(index=index, question=question, answer=record[a_key])
    raise PairsError(
        f"record {index} has no question/answer (or instruction/output, prompt/response) text fields; "
        f"it has: {', '.join(sorted(record)) or 'nothing'}"
    )


def read_pairs(path: Path) -> list[InputPair]:
    """Pairs from a JSON array or JSONL file; raises :class:`PairsError` naming the bad record."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PairsError(f"cannot read {path}: {exc}") from None
    stripped = text.lstrip()
    records: list[object]
    try:
        if stripped.startswith("["):
            records = list(json.loads(stripped))
        else:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise PairsError(f"{path} is not JSON or JSONL ({exc}); write one JSON object per line") from None
    if not records:
        raise PairsError(f"{path} holds no pairs")
    return [_pair_of(record, index) for index, record in enumerate(records, 1)]


def best_chunk(pair: InputPair, chunks: list[Chunk], units: list[set[str]]) -> tuple[Chunk | None, float]:
    """The chunk holding most of the answer's content (the question's breaks ties), and that share."""
    answer_units = content_units(pair.answer)
    question_units = content_units(pair.question)
    if not answer_units:
        return None, 0.0
    best_score, best_index = (0.0, 0.0), -1
    for position, chunk_units in enumerate(units):
        score = (
            len(answer_units & chunk_units) / len(answer_units),
            len(question_units & chunk_units) / max(1, len(question_units)),
        )
        if score > best_score:
            best_score, best_index = score, position
    if best_index < 0 or best_score[0] < MIN_CHUNK_SUPPORT:
        return None, best_score[0]
    return chunks[best_index], best_score[0]


async def critique_set(pairs: list[InputPair], chunks: list[Chunk], llm: ChatModel, settings: Settings) -> CritiqueRun:
    """One verdict per pair: pairs grouped by the chunk that holds them, one critique call sequence per chunk."""
    from ftds.tools.generation.review import critique_pairs
    from ftds.tools.generation.task_table import answer_check_called, judge_called

    run = CritiqueRun()
    verdicts: dict[int, PairVerdict] = {}
    units = [content_units(chunk.text) for chunk in chunks]
    groups: dict[str, tuple[Chunk, list[InputPair]]] = {}
    for pair in pairs:
        chunk, share = best_chunk(pair, chunks, units)
        if chunk is None:
            verdicts[pair.index] = PairVerdict(
                index=pair.index,
                question=pair.question,
                decision="reject",
                reason=f"check:{EVIDENCE}",
                rationale=f"no chunk of the sources holds the answer (best {share:.0%})",
                checks=[CheckResult(name=EVIDENCE, passed=False, detail="answer not found in the sources")],
            )
            continue
        groups.setdefault(chunk.chunk_id, (chunk, []))[1].append(pair)
    for chunk, members in groups.values():
        asked = [(p.question, p.answer) for p in members]
        critiques, usage = await critique_pairs(
            chunk,
            asked,
            llm,
            settings.build,
            check_answers=answer_check_called(settings),
            call_judge=judge_called(settings),
        )
        run.usage = run.usage + usage
        for pair, critique in zip(members, critiques, strict=True):
            verdicts[pair.index] = PairVerdict(
                **critique.model_dump(exclude={"index"}),
                index=pair.index,
                source=chunk.provenance.source,
                chunk_id=chunk.chunk_id,
            )
    run.verdicts = [verdicts[pair.index] for pair in pairs]
    return run
