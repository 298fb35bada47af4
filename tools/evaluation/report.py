"""The evaluation report: ``report.json`` (:class:`EvalReport`), ``report.md`` and a self-contained
``report.html`` with plots — overall, per label, per item kind, per difficulty, the items the model got wrong
with their evidence, and with ``--compare`` the paired difference between two models.

Plot labels use short ids (L1, L2 ...) with a legend table, like the build report: a machine without CJK
fonts would draw Chinese labels as empty boxes.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from ftds.tools.dataset.files import write_bytes, write_text
from ftds.tools.evaluation.items import (
    DIFFICULTIES,
    EvalItem,
    MultipleChoiceItem,
    OpenItem,
    SingleChoiceItem,
    reference_answer,
)
from ftds.tools.evaluation.run import ItemResult
from ftds.tools.evaluation.stats import BootstrapDiff, McNemar, mcnemar_exact, paired_bootstrap
from ftds.tools.records import EvidenceSpan, TokenUsage

EXACT_KINDS = ("single_choice", "multiple_choice", "true_false", "short_answer")


class Score(BaseModel):
    """Scores of one slice of the set: ``accuracy`` counts right answers, ``mean_score`` averages the 0..1
    scores (they differ only on judged items, which earn partial credit)."""

    items: int = 0
    correct: int = 0
    accuracy: float = 0.0
    mean_score: float = 0.0


def score_of(results: Sequence[ItemResult]) -> Score:
    scored = [r for r in results if r.failure is None]
    if not scored:
        return Score(items=0)
    correct = sum(1 for r in scored if r.correct)
    return Score(
        items=len(scored),
        correct=correct,
        accuracy=round(correct / len(scored), 4),
        mean_score=round(sum(r.score for r in scored) / len(scored), 4),
    )


class ModelSummary(BaseModel):
    model: str
    items: int
    scored: int
    failed: int
    overall: Score
    exact_match: Score = Field(description="Choice, true/false and short-answer items.")
    judged: Score = Field(description="Open items scored by the judge against their rubric.")
    by_kind: dict[str, Score] = Field(default_factory=dict)
    by_label: dict[str, Score] = Field(default_factory=dict)
    by_difficulty: dict[str, Score] = Field(default_factory=dict)
    failures: dict[str, str] = Field(default_factory=dict, description="item id -> why it has no score")
    usage: TokenUsage = Field(default_factory=TokenUsage)


def _group(
    items: Sequence[EvalItem], results: Sequence[ItemResult], key: Callable[[EvalItem], str]
) -> dict[str, Score]:
    groups: dict[str, list[ItemResult]] = {}
    for item, result in zip(items, results, strict=True):
        groups.setdefault(key(item), []).append(result)
    return {name: score_of(rs) for name, rs in sorted(groups.items())}


def summarise_model(
    items: Sequence[EvalItem], results: Sequence[ItemResult], model: str, usage: TokenUsage | None = None
) -> ModelSummary:
    by_difficulty = _group(items, results, lambda i: i.difficulty)
    return ModelSummary(
        model=model,
        items=len(items),
        scored=sum(1 for r in results if r.failure is None),
        failed=sum(1 for r in results if r.failure is not None),
        overall=score_of(results),
        exact_match=score_of([r for r in results if r.kind in EXACT_KINDS]),
        judged=score_of([r for r in results if r.kind == "open"]),
        by_kind=_group(items, results, lambda i: i.kind),
        by_label=_group(items, results, lambda i: i.label or "(unlabelled)"),
        by_difficulty={level: by_difficulty[level] for level in DIFFICULTIES if level in by_difficulty},
        failures={r.item_id: r.failure for r in results if r.failure is not None},
        usage=usage or TokenUsage(),
    )


class WrongItem(BaseModel):
    """An item the model got wrong (or only partly right), with what it said and where the answer is."""

    item_id: str
    kind: str
    label: str | None
    difficulty: str
    question: str
    options: list[str] = Field(default_factory=list)
    reference: str
    reply: str
    extracted: str
    score: float
    evidence: list[EvidenceSpan] = Field(default_factory=list)
    source: str
    heading_path: list[str] = Field(default_factory=list)


def wrong_items(items: Sequence[EvalItem], results: Sequence[ItemResult]) -> list[WrongItem]:
    wrong = []
    for item, result in zip(items, results, strict=True):
        if result.failure is not None or result.score >= 1.0:
            continue
        wrong.append(
            WrongItem(
                item_id=item.item_id,
                kind=item.kind,
                label=item.label,
                difficulty=item.difficulty,
                question=item.question,
                options=item.options if isinstance(item, SingleChoiceItem | MultipleChoiceItem) else [],
                reference=reference_answer(item),
                reply=result.reply[:1500],
                extracted=result.extracted,
                score=result.score,
                evidence=item.evidence,
                source=item.provenance.source,
                heading_path=item.provenance.heading_path,
            )
        )
    return wrong


class Comparison(BaseModel):
    """Model B against model A on the items both were scored on."""

    model_a: str
    model_b: str
    items: int
    exact_match: McNemar = Field(description="McNemar's exact test on exact-match items.")
    judged: BootstrapDiff | None = Field(default=None, description="Paired bootstrap on open items' scores.")
    overall: BootstrapDiff = Field(description="Paired bootstrap on every item's 0..1 score.")
    by_kind: dict[str, tuple[float, float]] = Field(default_factory=dict, description="kind -> (A, B) mean score")


def compare(
    items: Sequence[EvalItem],
    a: Sequence[ItemResult],
    b: Sequence[ItemResult],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> Comparison:
    pairs = [(i, x, y) for i, x, y in zip(items, a, b, strict=True) if x.failure is None and y.failure is None]
    exact = [(x, y) for i, x, y in pairs if i.kind in EXACT_KINDS]
    judged = [(x, y) for i, x, y in pairs if isinstance(i, OpenItem)]
    kinds: dict[str, list[tuple[float, float]]] = {}
    for item, x, y in pairs:
        kinds.setdefault(item.kind, []).append((x.score, y.score))
    return Comparison(
        model_a=a[0].model if a else "",
        model_b=b[0].model if b else "",
        items=len(pairs),
        exact_match=mcnemar_exact([bool(x.correct) for x, _ in exact], [bool(y.correct) for _, y in exact]),
        judged=(
            paired_bootstrap([x.score for x, _ in judged], [y.score for _, y in judged], resamples=resamples, seed=seed)
            if judged
            else None
        ),
        overall=paired_bootstrap(
            [x.score for _, x, _ in pairs], [y.score for _, _, y in pairs], resamples=resamples, seed=seed
        ),
        by_kind={
            kind: (round(sum(s for s, _ in v) / len(v), 4), round(sum(s for _, s in v) / len(v), 4))
            for kind, v in sorted(kinds.items())
        },
    )


class EvalReport(BaseModel):
    """What ``report.json`` holds."""

    set_dir: str
    set_name: str
    items: int
    judge: str | None = Field(default=None, description="Judge of open items; None when the set has none.")
    self_judged: bool = Field(default=False, description="True when the model under test judged its own open answers.")
    models: list[ModelSummary]
    comparison: Comparison | None = None
    wrong: dict[str, list[WrongItem]] = Field(default_factory=dict, description="model -> items it got wrong")
    outputs: dict[str, str] = Field(default_factory=dict)
    wall_time_s: float = 0.0

    @property
    def complete(self) -> bool:
        return all(m.failed == 0 for m in self.models)


# ---------------------------------------------------------------------------------------------------- rendering


def _png(figure: object) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")  # type: ignore[attr-defined]
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def plots(report: EvalReport) -> dict[str, str]:
    """Grouped bar charts (one bar per model) of mean score per kind, difficulty and label."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    images: dict[str, str] = {}
    width = 0.8 / max(1, len(report.models))
    for name, title, pick in (
        ("kinds", "Mean score per item kind", lambda m: m.by_kind),
        ("difficulty", "Mean score per difficulty", lambda m: m.by_difficulty),
        ("labels", "Mean score per label (ids in the table)", lambda m: m.by_label),
    ):
        keys = sorted(
            {k for m in report.models for k in pick(m)},
            key=lambda k: (k not in DIFFICULTIES, DIFFICULTIES.index(k) if k in DIFFICULTIES else 0, k),
        )
        ticks = [f"L{n + 1}" for n in range(len(keys))] if name == "labels" else keys
        fig, axis = plt.subplots(figsize=(7, 3))
        for offset, model in enumerate(report.models):
            values = [pick(model).get(k, Score()).mean_score for k in keys]
            axis.bar([x + offset * width for x in range(len(keys))], values, width=width, label=f"M{offset + 1}")
        axis.set_xticks([x + width * (len(report.models) - 1) / 2 for x in range(len(keys))], ticks, fontsize=8)
        axis.set_ylim(0, 1)
        axis.set_title(title)
        axis.legend(fontsize=8)
        images[name] = _png(fig)
        plt.close(fig)
    return images


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]


def _pct(score: Score) -> str:
    return f"{score.mean_score:.1%} ({score.correct}/{score.items})" if score.items else "-"


def markdown(report: EvalReport, image_dir: str) -> str:
    models = report.models
    heads = ["", *[f"M{n + 1}" for n in range(len(models))]]
    lines = [
        f"# Evaluation of {', '.join(m.model for m in models)} on {report.set_name}",
        "",
        *[
            f"- M{n + 1}: `{m.model}` — {m.scored} of {m.items} items scored, {m.failed} failed"
            for n, m in enumerate(models)
        ],
        (
            "- judge of open items: each model judged its own answers (pass --judge for an independent judge)"
            if report.self_judged
            else f"- judge of open items: {report.judge or '-'}"
        ),
        f"- wall time: {report.wall_time_s:.0f} s",
        "",
        "Scores are mean item scores (exact-match items 0/1, open items the share of rubric points met) with "
        "right answers / scored items in brackets.",
        "",
        "## Overall",
        "",
        *_table(
            heads,
            [
                ["overall", *[_pct(m.overall) for m in models]],
                ["exact match", *[_pct(m.exact_match) for m in models]],
                ["judged (open)", *[_pct(m.judged) for m in models]],
            ],
        ),
        "",
    ]
    for title, pick in (
        ("Per item kind", lambda m: m.by_kind),
        ("Per difficulty", lambda m: m.by_difficulty),
    ):
        keys = list(dict.fromkeys(k for m in models for k in pick(m)))
        lines += [
            f"## {title}",
            "",
            *_table(heads, [[k, *[_pct(pick(m).get(k, Score())) for m in models]] for k in keys]),
            "",
        ]
    labels = sorted({k for m in models for k in m.by_label})
    lines += [
        "## Per label",
        "",
        *_table(
            ["id", "label", *heads[1:]],
            [[f"L{n + 1}", k, *[_pct(m.by_label.get(k, Score())) for m in models]] for n, k in enumerate(labels)],
        ),
        "",
    ]
    if report.comparison is not None:
        c = report.comparison
        m = c.exact_match
        lines += [
            "## M2 against M1",
            "",
            f"- items scored for both: {c.items}",
            f"- exact-match items: M1 only right {m.a_only}, M2 only right {m.b_only}, both {m.both}, neither "
            f"{m.neither}; McNemar exact p = {m.p_value:.4g}",
            f"- every item's score: M2 - M1 = {c.overall.difference:+.3f} "
            f"({c.overall.confidence:.0%} paired bootstrap interval {c.overall.low:+.3f} .. {c.overall.high:+.3f})",
        ]
        if c.judged is not None:
            lines.append(
                f"- open items (judged): M2 - M1 = {c.judged.difference:+.3f} "
                f"(interval {c.judged.low:+.3f} .. {c.judged.high:+.3f}, {c.judged.items} items)"
            )
        lines += [
            "",
            *_table(["kind", "M1", "M2"], [[k, f"{a:.1%}", f"{b:.1%}"] for k, (a, b) in c.by_kind.items()]),
            "",
        ]
    lines += ["## Plots", ""] + [f"![{name}]({image_dir}/{name}.png)" for name in ("kinds", "difficulty", "labels")]
    for n, model in enumerate(models):
        wrong = report.wrong.get(model.model, [])
        lines += ["", f"## Items M{n + 1} got wrong ({len(wrong)})", ""]
        for item in wrong:
            evidence = " … ".join(span.text for span in item.evidence) or "(no evidence span)"
            lines += [
                f"### {item.item_id} — {item.kind}, {item.difficulty}, {item.label or '-'}",
                "",
                f"- question: {item.question}",
                *(
                    [f"- options: {' / '.join(f'{chr(65 + i)}. {o}' for i, o in enumerate(item.options))}"]
                    if item.options
                    else []
                ),
                f"- expected: {item.reference}",
                f"- answered: {item.extracted or '(no answer found)'} (score {item.score:.2f})",
                f"- evidence ({item.source} {' > '.join(item.heading_path)}): {evidence}",
                "",
            ]
        if model.failures:
            lines += [
                "",
                f"## Items M{n + 1} could not be scored",
                "",
                *_table(["item", "why"], sorted(model.failures.items())),
            ]
    return "\n".join(lines) + "\n"


def write_report(out_dir: Path, report: EvalReport) -> dict[str, str]:
    """report.json, report.md (+ plots/*.png) and a self-contained report.html; returns their paths."""
    from markdown_it import MarkdownIt

    out_dir.mkdir(parents=True, exist_ok=True)
    images = plots(report)
    plot_dir = out_dir / "plots"
    plot_dir.mkdir(exist_ok=True)
    for name, data in images.items():
        write_bytes(plot_dir / f"{name}.png", base64.b64decode(data))
    text = markdown(report, "plots")
    write_text(out_dir / "report.md", text)
    inline = text
    for name, data in images.items():
        inline = inline.replace(f"(plots/{name}.png)", f"(data:image/png;base64,{data})")
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(inline)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>ftds evaluation {html.escape(report.set_name)}"
        "</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px}</style></head>"
        f"<body>{body}</body></html>"
    )
    write_text(out_dir / "report.html", page)
    report.outputs = {
        "report_json": str(out_dir / "report.json"),
        "report_md": str(out_dir / "report.md"),
        "report_html": str(out_dir / "report.html"),
        "answers": str(out_dir / "answers"),
    }
    write_text(out_dir / "report.json", report.model_dump_json(indent=2))
    return report.outputs
