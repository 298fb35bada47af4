"""The human-readable run report: ``report.md`` and a self-contained ``report.html`` with plots.

The numbers come from the same :class:`RunSummary` that is written to ``report.json``; this module only
adds the per-document and per-section views and the pictures. Plot labels use short ids (D1, S1 ...) with a
legend table, because a machine without CJK fonts would draw Chinese file names as empty boxes.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

from ftds.tools.dataset.files import write_bytes, write_text
from ftds.tools.records import CHECKS, Chunk, RunSummary, Sample


@dataclass
class Breakdown:
    """Per-document and per-section counts behind the report's tables and plots."""

    documents: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> generated/accepted/chunks
    sections: dict[str, dict[str, int]] = field(default_factory=dict)  # "source > heading" -> chunks/covered


def section_of(chunk: Chunk) -> str:
    path = chunk.provenance.heading_path
    heading = path[1] if len(path) > 1 else (path[0] if path else "(no heading)")
    return f"{chunk.provenance.source} > {heading}"


def breakdown(chunks: Sequence[Chunk], generated_by_chunk: dict[str, int], accepted: Sequence[Sample]) -> Breakdown:
    accepted_by_chunk = Counter(s.provenance.chunk_id for s in accepted)
    result = Breakdown()
    for chunk in chunks:
        doc = result.documents.setdefault(chunk.provenance.source, {"chunks": 0, "generated": 0, "accepted": 0})
        doc["chunks"] += 1
        doc["generated"] += generated_by_chunk.get(chunk.chunk_id, 0)
        doc["accepted"] += accepted_by_chunk.get(chunk.chunk_id, 0)
        section = result.sections.setdefault(section_of(chunk), {"chunks": 0, "covered": 0})
        section["chunks"] += 1
        section["covered"] += 1 if accepted_by_chunk.get(chunk.chunk_id) else 0
    return result


def _unjudged_note(samples: Sequence[Sample]) -> list[str]:
    """Say so when samples were accepted on their checks alone: a reader of the table would look for the
    judge's row (and the score plot for their scores)."""
    unjudged = sum(1 for s in samples if s.review and s.review.reviewer == CHECKS)
    if not unjudged:
        return []
    return [
        f"{unjudged} of them were accepted on these checks alone: the rubric judge was not called "
        "(build.judge auto does not call it for the embedded reviewer; --judge always does)."
    ]


def _png(figure: object) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")  # type: ignore[attr-defined]
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def plots(samples: Sequence[Sample], parts: Breakdown) -> dict[str, str]:
    """Base64 PNGs by name. matplotlib is imported here so that nothing else pays for it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    images: dict[str, str] = {}

    def figure(name: str, title: str, draw: object) -> None:
        fig, axis = plt.subplots(figsize=(6, 3))
        draw(axis)  # type: ignore[operator]
        axis.set_title(title)
        images[name] = _png(fig)
        plt.close(fig)

    scores = [s.review.total for s in samples if s.review and s.review.reviewer != CHECKS]  # no judge, no score
    figure("scores", "Review score of accepted samples", lambda ax: ax.hist(scores, bins=10, range=(0, 1)))
    labels = Counter(s.label or "(unlabelled)" for s in samples)
    label_ids = [f"L{i + 1}" for i in range(len(labels))]
    figure("labels", "Samples per label", lambda ax: ax.bar(label_ids, list(labels.values())))
    figure(
        "lengths",
        "Question and answer length (characters)",
        lambda ax: (
            ax.hist([[len(s.question) for s in samples], [len(s.answer) for s in samples]], bins=15, label=["Q", "A"])
            and ax.legend()
        ),
    )
    doc_ids = [f"D{i + 1}" for i in range(len(parts.documents))]
    rates = [d["accepted"] / d["generated"] if d["generated"] else 0 for d in parts.documents.values()]
    figure("documents", "Acceptance rate per document", lambda ax: ax.bar(doc_ids, rates) and ax.set_ylim(0, 1))
    section_ids = [f"S{i + 1}" for i in range(len(parts.sections))]
    coverage = [s["covered"] / s["chunks"] for s in parts.sections.values()]
    figure("sections", "Coverage per section", lambda ax: ax.bar(section_ids, coverage) and ax.set_ylim(0, 1))
    return images


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def check_rows(summary: RunSummary, samples: Sequence[Sample]) -> list[tuple[str, int, int, int]]:
    """Per check: how many accepted samples passed it, how many it could not judge, and how many samples it
    rejected."""
    from ftds.tools.generation.checks import count_checks

    counts = count_checks(list(samples))
    reasons = summary.rejection_reasons.items()
    rejected = {reason.removeprefix("check:"): n for reason, n in reasons if reason.startswith("check:")}
    names = [*counts, *(name for name in rejected if name not in counts)]
    return [
        (
            name,
            counts.get(name, {}).get("passed", 0),
            counts.get(name, {}).get("not_counted", 0),
            rejected.get(name, 0),
        )
        for name in names
    ]


def markdown(summary: RunSummary, parts: Breakdown, samples: Sequence[Sample], image_dir: str) -> str:
    labels = Counter(s.label or "(unlabelled)" for s in samples)
    lines = [
        f"# ftds run {summary.run_id} — {summary.domain}",
        "",
        f"- files: {summary.files_loaded} loaded, {len(summary.files_failed)} failed, "
        f"{len(summary.files_skipped)} skipped",
        f"- chunks: {summary.chunks} found, {summary.chunks_selected} selected, {summary.chunks_processed} processed",
        f"- samples: {summary.generated} generated = {summary.accepted} accepted + {summary.rejected} rejected "
        f"+ {summary.failed} failed",
        f"- acceptance rate: {summary.acceptance_rate:.0%}; coverage: {summary.coverage:.0%} of selected chunks "
        "have at least one accepted sample",
        f"- revision rounds used: {summary.revision_rounds}",
        f"- tokens: generator {summary.generator_usage.total_tokens} in {summary.generator_usage.calls} calls, "
        f"reviewer {summary.reviewer_usage.total_tokens} in {summary.reviewer_usage.calls} calls; "
        f"cache hits {summary.generator_usage.cached_calls + summary.reviewer_usage.cached_calls}; "
        f"cost {summary.generator_usage.cost + summary.reviewer_usage.cost:.4f} (llm.cost_per_1m_input/output)",
        f"- splits: {', '.join(f'{k} {v}' for k, v in summary.splits.items())} (grouped by "
        f"{summary.split_grouped_by or '-'})",
        *(
            f"- endpoint {label}: concurrency limit {e.limit} at the end (lowest {e.min_limit}, ceiling "
            f"{e.ceiling}); {e.rate_limited} HTTP 429, {e.timeouts} timeouts, {e.decreases} decreases, "
            f"{e.increases} increases"
            for label, e in summary.endpoints.items()
            if e.batch is None
        ),
        *(
            f"- endpoint {label}: calls sent through its Batch API: {b.requests} requests answered and {b.failed} "
            f"failed, in {b.batches} batches ({b.resumed} more resumed from an interrupted run)"
            for label, e in summary.endpoints.items()
            if (b := e.batch) is not None
        ),
        *(
            [
                f"- executor: {x.name} {x.address or '(started by the run)'}, {x.workers} workers; "
                f"{x.lost_workers} lost, {x.resent_chunks} chunks sent again"
            ]
            if (x := summary.executor) is not None
            else []
        ),
        f"- wall time: {summary.wall_time_s:.0f} s",
        "",
        "## Why samples were rejected or failed",
        "",
        *_table(["reason", "count"], [*summary.rejection_reasons.items(), *summary.failure_reasons.items()]),
        "",
        "## Checks",
        "",
        "Every accepted sample passed every check below; a failed check rejects its sample (reason check:NAME).",
        *_unjudged_note(samples),
        "",
        *_table(
            ["check", "passed by accepted samples", "not counted (could not judge, or not run)", "rejected by it"],
            check_rows(summary, samples),
        ),
        "",
        "## Documents",
        "",
        *_table(
            ["id", "document", "chunks", "generated", "accepted"],
            [
                (f"D{i + 1}", name, d["chunks"], d["generated"], d["accepted"])
                for i, (name, d) in enumerate(parts.documents.items())
            ],
        ),
        "",
        "## Sections",
        "",
        *_table(
            ["id", "section", "chunks", "covered"],
            [(f"S{i + 1}", name, s["chunks"], s["covered"]) for i, (name, s) in enumerate(parts.sections.items())],
        ),
        "",
        "## Labels",
        "",
        *_table(["id", "label", "samples"], [(f"L{i + 1}", k, v) for i, (k, v) in enumerate(labels.items())]),
        "",
        "## Plots",
        "",
    ]
    for name in ("scores", "labels", "lengths", "documents", "sections"):
        lines.append(f"![{name}]({image_dir}/{name}.png)")
    return "\n".join(lines) + "\n"


def write_report(
    out_dir: Path,
    summary: RunSummary,
    chunks: Sequence[Chunk],
    generated_by_chunk: dict[str, int],
    samples: Sequence[Sample],
) -> dict[str, str]:
    """Write report.md (+ plots/*.png) and a self-contained report.html; returns their paths."""
    parts = breakdown(chunks, generated_by_chunk, samples)
    images = plots(samples, parts)
    plot_dir = out_dir / "plots"
    for name, data in images.items():
        write_bytes(plot_dir / f"{name}.png", base64.b64decode(data))
    text = markdown(summary, parts, samples, "plots")
    write_text(out_dir / "report.md", text)
    inline = text
    for name, data in images.items():
        inline = inline.replace(f"(plots/{name}.png)", f"(data:image/png;base64,{data})")
    body = MarkdownIt("commonmark").enable("table").render(inline)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>ftds run "
        f"{html.escape(summary.run_id)}</title><style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}</style></head>"
        f"<body>{body}</body></html>"
    )
    write_text(out_dir / "report.html", page)
    return {"report_md": str(out_dir / "report.md"), "report_html": str(out_dir / "report.html")}
