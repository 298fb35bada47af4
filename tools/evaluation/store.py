"""An evaluation set on disk: one folder that ``ftds-agent eval --set DIR`` reads and every tool can load.

```
DIR/items.jsonl      the set: one item per line (plain JSONL, every field)
DIR/rejected.jsonl   items the checks or the audit left out, whole, with ``rejection`` set
DIR/audit.json       the leakage audit (what was compared, what was excluded and why)
DIR/set.json         counts, spread, balance, sources, reasons (:class:`EvalSetInfo`)
DIR/README.md        the card: what the set measures, how it was made, how to run it
DIR/exports/         EvalScope, OpenCompass and lighteval files (:mod:`.export`)
```
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from ftds.tools.dataset.files import DatasetFolder, write_jsonl, write_text
from ftds.tools.evaluation.audit import AuditReport
from ftds.tools.evaluation.checks import difficulty_spread
from ftds.tools.evaluation.export import export_all
from ftds.tools.evaluation.items import EvalItem, TrueFalseItem, parse_item
from ftds.tools.reasons import Reason
from ftds.tools.records import CheckResult, ItemOutcome

ITEMS, REJECTED, AUDIT, INFO, CARD = "items.jsonl", "rejected.jsonl", "audit.json", "set.json", "README.md"
DRAFT_REASONS = (
    Reason.EVAL_INVALID_DRAFT,
    Reason.EVAL_NO_ANSWER_KEY,
    Reason.EVAL_REPEATED_DRAFT,
    Reason.EVAL_KIND_NOT_REQUESTED,
)
"""Reason codes of drafts that never became items (see ``ftds.tools.evaluation.generate``)."""


class EvalSetError(ValueError):
    """A folder that is not a readable evaluation set; the message says what is wrong and what to do."""


class EvalSetInfo(BaseModel):
    name: str
    domain: str
    created_at: float = Field(default_factory=time.time)
    generator: str = ""
    items: int = 0
    by_kind: dict[str, int] = Field(default_factory=dict)
    by_difficulty: dict[str, int] = Field(default_factory=dict)
    by_label: dict[str, int] = Field(default_factory=dict)
    true_false: dict[str, int] = Field(default_factory=dict, description="true / false statements kept")
    spread: CheckResult | None = None
    sources: list[str] = Field(default_factory=list)
    chunks_used: int = 0
    generated: int = Field(default=0, description="items + rejected (drafts and audit exclusions included)")
    rejected: int = 0
    failed: int = 0
    rejection_reasons: dict[str, int] = Field(default_factory=dict)
    failure_reasons: dict[str, int] = Field(default_factory=dict)
    failures: list[ItemOutcome] = Field(default_factory=list)
    draft_rejections: list[ItemOutcome] = Field(
        default_factory=list,
        description="Drafts rejected before they were items (no answer key, wrong shape, kind not asked for), "
        "with the draft's JSON: they have no line in rejected.jsonl.",
    )
    outputs: dict[str, str] = Field(default_factory=dict)


def summarise(
    name: str,
    domain: str,
    items: Sequence[EvalItem],
    rejected: Sequence[ItemOutcome],
    failed: Sequence[ItemOutcome],
    *,
    generator: str = "",
    chunks_used: int = 0,
) -> EvalSetInfo:
    _, spread = difficulty_spread(items)
    tf = [i for i in items if isinstance(i, TrueFalseItem)]
    return EvalSetInfo(
        name=name,
        domain=domain,
        generator=generator,
        items=len(items),
        by_kind=dict(Counter(i.kind for i in items)),
        by_difficulty=dict(Counter(i.difficulty for i in items)),
        by_label=dict(Counter(i.label or "(unlabelled)" for i in items)),
        true_false={"true": sum(1 for i in tf if i.answer), "false": sum(1 for i in tf if not i.answer)},
        spread=spread,
        sources=sorted({i.provenance.source for i in items}),
        chunks_used=chunks_used,
        generated=len(items) + len(rejected),
        rejected=len(rejected),
        failed=len(failed),
        rejection_reasons=dict(Counter(o.reason for o in rejected)),
        failure_reasons=dict(Counter(o.reason for o in failed)),
        failures=list(failed),
        draft_rejections=[o for o in rejected if o.reason in DRAFT_REASONS],
    )


def write_eval_set(
    out_dir: Path,
    items: Sequence[EvalItem],
    info: EvalSetInfo,
    *,
    rejected: Sequence[EvalItem] = (),
    audit: AuditReport | None = None,
) -> EvalSetInfo:
    """Write the set folder (items, rejected, audit, exports, card, set.json); returns ``info`` with outputs."""
    with DatasetFolder(out_dir, "eval-set build"):  # replaces exactly the files an earlier set here wrote
        write_jsonl(out_dir / ITEMS, (item.model_dump(mode="json") for item in items))
        write_jsonl(out_dir / REJECTED, (item.model_dump(mode="json") for item in rejected))
        outputs = {"items": str(out_dir / ITEMS), "rejected": str(out_dir / REJECTED)}
        if audit is not None:
            write_text(out_dir / AUDIT, audit.model_dump_json(indent=2))
            outputs["audit"] = str(out_dir / AUDIT)
        outputs.update(export_all(items, out_dir / "exports"))
        write_text(out_dir / CARD, card(info, audit))
        outputs["card"] = str(out_dir / CARD)
        info.outputs = outputs
        write_text(out_dir / INFO, info.model_dump_json(indent=2))
    return info


def load_eval_set(folder: Path) -> list[EvalItem]:
    """The items of a set folder (or of an ``items.jsonl`` file given directly). Raises :class:`EvalSetError`
    naming the line when a line is not an item."""
    path = folder / ITEMS if folder.is_dir() else folder
    if not path.is_file():
        raise EvalSetError(
            f"{folder} is not an evaluation set: no {ITEMS} there; build one with `ftds-agent eval-set build`"
        )
    items: list[EvalItem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(parse_item(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "top level"
            raise EvalSetError(f"{path} line {number} is not an evaluation item ({where}: {first['msg']})") from None
    if not items:
        raise EvalSetError(f"{path} holds no items; the set is empty")
    ids = Counter(item.item_id for item in items)
    repeated = [i for i, n in ids.items() if n > 1]
    if repeated:
        raise EvalSetError(f"{path} repeats item ids ({', '.join(repeated[:3])}); every item needs its own id")
    return items


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def card(info: EvalSetInfo, audit: AuditReport | None) -> str:
    """The set's card: what it measures, how it was made and checked, what was left out, how to run it."""
    lines = [
        f"# Evaluation set: {info.name}",
        "",
        f"**What it measures.** Knowledge of the {info.domain} domain as written in the source documents below: "
        "whether a model recalls and applies what they state (definitions, conditions, duties, periods, numbers). "
        "Each item is answerable from one passage of the sources; its evidence span is stored with it. It does "
        "not measure general ability, style or knowledge beyond these documents.",
        "",
        f"- items: {info.items} from {info.chunks_used} passages of {len(info.sources)} documents",
        f"- written by {info.generator or 'an LLM'}, then vetted by code: the answer key located in the source, "
        "distractors plausible and verifiably wrong (a distractor the source supports is dropped), true/false "
        "statements balanced",
        f"- true/false: {info.true_false.get('true', 0)} true, {info.true_false.get('false', 0)} false",
        f"- difficulty spread: {info.spread.detail if info.spread else '-'}"
        + ("" if info.spread is None or info.spread.passed else " (uneven)"),
        f"- accounted for: {info.generated} drafts = {info.items} kept + {info.rejected} rejected; "
        f"{info.failed} generation calls failed",
        "",
        "## Items by kind",
        "",
        *_table(["kind", "items"], sorted(info.by_kind.items())),
        "",
        "## Items by label",
        "",
        *_table(["label", "items"], sorted(info.by_label.items())),
        "",
        "## Sources",
        "",
        *[f"- {source}" for source in info.sources],
        "",
        "## Left out, and why",
        "",
        *_table(["reason", "items"], sorted(info.rejection_reasons.items())),
        "",
    ]
    if audit is not None:
        lines += [
            "## Leakage audit against the training data",
            "",
            f"Compared with {audit.training_records} training records ({audit.training_with_provenance} with "
            f"provenance): holdout `{audit.holdout}`, near-duplicate threshold {audit.near_threshold} (exact "
            "Jaccard of character n-grams over question, options and answer, and over questions alone)"
            + (
                f", semantic threshold {audit.semantic_threshold} ({audit.embedder})"
                if audit.semantic_threshold is not None
                else ", semantic audit off"
            )
            + f". Excluded {len(audit.excluded)}; kept {audit.items_kept}.",
            "",
            *_table(["reason", "items"], sorted(audit.reasons.items())),
            *[f"- note: {note}" for note in audit.notes],
            "",
        ]
    lines += [
        "## How to run it",
        "",
        "```",
        "ftds-agent eval --set THIS_FOLDER --model NAME --base-url http://127.0.0.1:8000/v1 --out eval-report",
        "```",
        "",
        "EvalScope: `datasets=['general_mcq']`, `dataset_args={'general_mcq': {'local_path': "
        "'exports/evalscope/mcq', 'subset_list': ['single_choice', 'true_false']}}` (multiple-answer items: "
        "subset `multiple_choice` with `extra_params={'multiple_correct': True}`); `general_qa` with "
        "`local_path='exports/evalscope/qa'`, subsets `short_answer`, `open`. OpenCompass: `exports/opencompass/"
        "mcq.jsonl` and `qa.jsonl` as custom datasets. lighteval: `exports/lighteval/eval.jsonl` rows hold the "
        "`Doc` fields (query, choices, gold_index, instruction).",
        "",
        "## Limits",
        "",
        "Items are machine-written from the sources and machine-checked, not reviewed by a person; open items are "
        "scored by a judge model against a rubric, which adds the judge's own error. Scores compare models on "
        "these documents only.",
    ]
    return "\n".join(lines) + "\n"


def read_info(folder: Path) -> EvalSetInfo | None:
    path = folder / INFO
    if not folder.is_dir() or not path.is_file():
        return None
    return EvalSetInfo.model_validate(json.loads(path.read_text(encoding="utf-8")))
