"""``ftds-agent sources search|show|fetch``: find existing datasets before synthesising new ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ftds.agents.cli_common import (
    ConfigOpt,
    JsonOpt,
    app,
    fail,
    settings_from,
)
from ftds.agents.exit_codes import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL

sources_app = typer.Typer(help="Search public dataset registries, check licences, load samples.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")

OfflineOpt = Annotated[
    bool | None, typer.Option("--offline/--online", help="Shipped catalog only (no network), or ask registries.")
]


@sources_app.command("search")
def sources_search(
    query: Annotated[list[str], typer.Argument(help="What to look for, e.g. 中文 法律 问答.")],
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Registry to ask; repeatable.")] = None,
    task: Annotated[str | None, typer.Option(help="Task category, e.g. question-answering.")] = None,
    language: Annotated[str | None, typer.Option(help="Language code, e.g. zh.")] = None,
    license_id: Annotated[str | None, typer.Option("--license", help="Require this licence, e.g. apache-2.0.")] = None,
    limit: Annotated[int | None, typer.Option(help="Results per registry.")] = None,
    commercial: Annotated[bool, typer.Option("--commercial", help="Flag licences that forbid commercial use.")] = False,
    offline: OfflineOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the JSON result here.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search every registry and the shipped catalog; failures of single registries are listed (exit 3)."""
    from ftds.tools.sources import IntendedUse, SearchFilters, catalog_version, check_license, search_sources

    settings = settings_from(config, sources={"offline": offline})
    try:
        outcome = search_sources(
            " ".join(query),
            settings.sources,
            filters=SearchFilters(task=task, language=language, license=license_id),
            sources=source,
            limit=limit,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    payload = outcome.model_dump(mode="json")
    payload["catalog_version"] = catalog_version()
    checks = {}
    if commercial:
        use = IntendedUse(commercial=True)
        checks = {f"{r.source}:{r.id}": check_license(r.license, use) for r in outcome.results}
        payload["license_checks"] = {k: v.model_dump() for k, v in checks.items()}
    text = json.dumps(payload, ensure_ascii=False, indent=2)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    if as_json:
        typer.echo(text)
    else:
        mode = (
            "offline: shipped catalog only"
            if outcome.offline
            else f"live: {', '.join(outcome.sources_queried)} + catalog"
        )
        typer.echo(f"{len(outcome.results)} results ({mode}, catalog {catalog_version()})", err=True)
        for r in outcome.results:
            flag = "  CONFLICT" if commercial and checks[f"{r.source}:{r.id}"].conflicts else ""
            typer.echo(f"[{r.origin}] {r.source}:{r.id}  licence={r.license}{flag}  {r.title}")
            if r.load_snippet:
                typer.echo(f"    {r.load_snippet}")
            for warning in r.warnings:
                typer.echo(f"    warning: {warning}")
        for name, link in outcome.search_links.items():
            typer.echo(f"{name}: {link}")
        for failure in outcome.failures:
            typer.echo(f"failed: {failure.source}: {failure.error}", err=True)
    if outcome.failures:
        raise typer.Exit(EXIT_FATAL if not outcome.results else EXIT_PARTIAL)
    raise typer.Exit(EXIT_OK)


@sources_app.command("show")
def sources_show(
    dataset_id: Annotated[str, typer.Argument(help="Registry id, e.g. rajpurkar/squad.")],
    source: Annotated[
        str, typer.Option("--source", "-s", help="huggingface, modelscope, kaggle or catalog.")
    ] = "huggingface",
    offline: OfflineOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the JSON details here.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Card, configs, splits, features, preview rows and licence terms of one dataset."""
    from ftds.tools.sources import SourceError, get_dataset_details
    from ftds.tools.sources.licenses import license_terms

    settings = settings_from(config, sources={"offline": offline})
    try:
        details = get_dataset_details(dataset_id, source, settings.sources)
    except SourceError as exc:
        raise fail(str(exc), EXIT_FATAL) from None
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(details.model_dump_json(indent=2), encoding="utf-8")
    if as_json:
        typer.echo(details.model_dump_json(indent=2))
    else:
        r, terms = details.result, license_terms(details.result.license)
        typer.echo(f"{r.source}:{r.id}  {r.title}\n{r.url}")
        typer.echo(
            f"licence {terms.spdx}: commercial={terms.commercial} modify={terms.modify} "
            f"attribution={terms.attribution} share-alike={terms.share_alike}"
        )
        if details.splits:
            typer.echo("splits: " + "; ".join(f"{c}: {', '.join(s)}" for c, s in details.splits.items()))
        if details.features:
            typer.echo("features: " + ", ".join(f"{k} ({v})" for k, v in details.features.items()))
        if r.load_snippet:
            typer.echo(r.load_snippet)
        for warning in r.warnings:
            typer.echo(f"warning: {warning}")
        for failure in details.failures:
            typer.echo(f"note: {failure.error}", err=True)
    raise typer.Exit(EXIT_PARTIAL if details.failures else EXIT_OK)


@sources_app.command("fetch")
def sources_fetch(
    dataset: Annotated[str, typer.Argument(help="Hub id, or a local .json/.jsonl/.csv/.parquet file or saved folder.")],
    limit: Annotated[int, typer.Option("--limit", "-n", help="Rows to load.")] = 100,
    split: Annotated[str, typer.Option(help="Split to load.")] = "train",
    subset: Annotated[str | None, typer.Option("--subset", help="Dataset configuration (subset).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Convert the sample: alpaca, sharegpt or openai.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="JSONL file for the (converted) sample.")] = None,
    offline: OfflineOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load a sample with `datasets`, detect its record format and optionally convert it."""
    from ftds.tools.dataset.files import write_jsonl
    from ftds.tools.sources import FetchError, fetch_sample

    if limit < 1:
        raise fail("--limit must be at least 1")
    if to is not None and to not in ("alpaca", "sharegpt", "openai"):
        raise fail(f"unknown format {to!r} for --to; use alpaca, sharegpt or openai")
    settings = settings_from(config, sources={"offline": offline})
    try:
        sample = fetch_sample(
            dataset,
            limit=limit,
            split=split,
            config=subset,
            to=to,
            cache_dir=settings.cache_dir / "datasets",
            offline=settings.sources.offline,
        )
    except FetchError as exc:
        raise fail(str(exc), EXIT_FATAL) from None
    rows = sample.converted if to else sample.records
    if out:
        write_jsonl(out, rows)
    summary = {
        "dataset": sample.dataset,
        "rows": sample.rows,
        "columns": sample.columns,
        "detected_format": sample.detected_format,
        "converted_to": sample.converted_to,
        "converted": len(sample.converted),
        "conversion_errors": sample.conversion_errors,
        "out": str(out) if out else None,
    }
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        typer.echo(
            f"{sample.rows} rows from {sample.dataset} (format: {sample.detected_format or 'not a chat format'})"
            + (f" -> {out}" if out else ""),
            err=True,
        )
        for error in sample.conversion_errors[:20]:
            typer.echo(f"  {error}", err=True)
        if not out:
            for row in rows[:5]:
                typer.echo(json.dumps(row, ensure_ascii=False, default=str))
    if not sample.rows or (to and not sample.converted):
        raise typer.Exit(EXIT_FATAL)
    raise typer.Exit(EXIT_PARTIAL if sample.conversion_errors else EXIT_OK)


@sources_app.command("card")
def sources_card(
    datasets_: Annotated[
        list[str],
        typer.Argument(metavar="SOURCE:ID...", help="Datasets mixed into yours, e.g. huggingface:rajpurkar/squad."),
    ],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Markdown file for the card section.")] = None,
    commercial: Annotated[
        bool, typer.Option("--commercial", help="The mixed dataset will be used commercially.")
    ] = False,
    redistribute: Annotated[bool, typer.Option("--redistribute", help="The mixed dataset will be published.")] = False,
    offline: OfflineOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write the dataset-card section that lists every source's licence and the conflicts for your use."""
    from ftds.tools.sources import IntendedUse, SourceError, check_license, get_dataset_details, sources_card_section

    settings = settings_from(config, sources={"offline": offline})
    found = []
    for spec in datasets_:
        source, _, dataset_id = spec.partition(":") if ":" in spec else ("huggingface", "", spec)
        try:
            found.append(get_dataset_details(dataset_id, source, settings.sources).result)
        except SourceError as exc:
            raise fail(f"{spec}: {exc}", EXIT_FATAL) from None
    use = IntendedUse(commercial=commercial, redistribute=redistribute)
    text = sources_card_section(found, use)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        typer.echo(f"card section -> {out}", err=True)
    else:
        typer.echo(text)
    conflicts = any(check_license(r.license, use).conflicts for r in found)
    raise typer.Exit(EXIT_PARTIAL if conflicts else EXIT_OK)
