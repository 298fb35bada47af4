"""``ftds-agent critique``: audit an existing Q&A set against its source documents with ftds' checks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from ftds.agents.cli_common import (
    AnswerCheckOpt,
    ConfigOpt,
    JsonOpt,
    JudgeOpt,
    MinAnswerProbabilityOpt,
    MinUnconfirmedProbabilityOpt,
    app,
    fail,
    settings_from,
)
from ftds.agents.exit_codes import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL


@app.command()
def critique(
    pairs: Annotated[Path, typer.Argument(help="JSON or JSONL of pairs (question/answer or instruction/output).")],
    source: Annotated[list[Path], typer.Option("--source", "-s", help="Documents the pairs come from; repeatable.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL file, one verdict per pair.")] = Path(
        "out/verdicts.jsonl"
    ),
    domain: Annotated[str | None, typer.Option(help="Domain preset: law, medicine, finance, general.")] = None,
    backend: Annotated[str | None, typer.Option(help="embedded or openai.")] = None,
    model: Annotated[str | None, typer.Option(help="Embedded model key or endpoint model name.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL.")] = None,
    api_key_env: Annotated[str | None, typer.Option(help="Env var holding the API key.")] = None,
    no_round_trip: Annotated[
        bool, typer.Option("--no-round-trip", help="Skip the extractive round-trip call (code checks + judge).")
    ] = False,
    judge: JudgeOpt = None,
    answer_check: AnswerCheckOpt = None,
    min_answer_probability: MinAnswerProbabilityOpt = None,
    min_unconfirmed_probability: MinUnconfirmedProbabilityOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check each pair against the documents: evidence located, key terms, facts, polarity, round trip, the
    answer check (``--answer-check``) and (``--judge``) the judge; one verdict per pair (accept / revise /
    reject / failed, with the reason) in input order."""
    from ftds.tools.dataset.files import write_jsonl
    from ftds.tools.generation.critique import CritiqueRun, PairsError, critique_set, read_pairs
    from ftds.tools.ingest import load_literature
    from ftds.tools.llm import make_chat_model

    settings = settings_from(
        config,
        build={
            "domain": domain,
            "round_trip": False if no_round_trip else None,
            "judge": judge,
            "answer_check": answer_check,
            "min_answer_probability": min_answer_probability,
            "min_unconfirmed_probability": min_unconfirmed_probability,
        },
        llm={"backend": backend, "model": model, "base_url": base_url, "api_key_env": api_key_env},
    )
    try:
        items = read_pairs(pairs)
    except PairsError as exc:
        raise fail(str(exc)) from None
    missing = [str(path) for path in source if not path.exists()]
    if missing:
        raise fail(f"source not found: {', '.join(missing)}; pass the documents the pairs were written from")
    try:
        literature = load_literature(source, settings.chunking, domain=settings.build.domain, ingest=settings.ingest)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if not literature.chunks:
        reasons = "; ".join(f"{f.source}: {f.reason}" for f in literature.files) or "no files"
        raise fail(f"no text could be read from the sources ({reasons})")
    llm = make_chat_model(settings.reviewer or settings.llm, settings.cache_dir)

    async def run_all() -> CritiqueRun:
        try:
            return await critique_set(items, literature.chunks, llm, settings)
        finally:
            await llm.aclose()

    run = asyncio.run(run_all())
    write_jsonl(out, (verdict.model_dump(mode="json") for verdict in run.verdicts))
    counts = {d: run.count(d) for d in ("accept", "revise", "reject", "failed")}
    if as_json:
        summary = {"out": str(out), "pairs": len(items), **counts, "tokens": run.usage.total_tokens}
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        for verdict in run.verdicts:
            typer.echo(f"{verdict.index:4} {verdict.decision:7} {verdict.reason or ''}  {verdict.question[:60]}")
        typer.echo(", ".join(f"{n} {d}" for d, n in counts.items()) + f" -> {out}", err=True)
    if counts["failed"] == len(items):
        raise typer.Exit(EXIT_FATAL)
    raise typer.Exit(EXIT_PARTIAL if counts["failed"] else EXIT_OK)
