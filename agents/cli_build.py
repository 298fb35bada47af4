"""``ftds-agent build`` (start or resume a run) and ``ftds-agent runs`` (list them)."""

from __future__ import annotations

import asyncio
import json
import time
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
    check_inputs,
    fail,
    output_path,
    settings_from,
)
from ftds.agents.exit_codes import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL
from ftds.agents.progress import make_reporter
from ftds.tools.config import LLMSettings, Settings
from ftds.tools.records import RunSummary

EXIT_INTERRUPTED = 130


@app.command()
def build(
    inputs: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders of literature.", show_default=False)
    ] = None,
    input_opt: Annotated[list[Path] | None, typer.Option("--input", "-i", help="Same as INPUT; repeatable.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for the dataset.")] = Path("out/dataset"),
    domain: Annotated[str | None, typer.Option(help="Domain preset: law, medicine, finance, general.")] = None,
    max_chunks: Annotated[int | None, typer.Option(help="Process at most N chunks, spread over documents.")] = None,
    questions_per_chunk: Annotated[int | None, typer.Option(help="Fixed questions per chunk (default scales).")] = None,
    formats: Annotated[
        list[str] | None, typer.Option("--format", help="alpaca, sharegpt and/or openai; repeatable.")
    ] = None,
    backend: Annotated[str | None, typer.Option(help="embedded or openai.")] = None,
    model: Annotated[str | None, typer.Option(help="Embedded model key or endpoint model name.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL.")] = None,
    api_key_env: Annotated[str | None, typer.Option(help="Env var holding the API key.")] = None,
    threshold: Annotated[float | None, typer.Option(help="Minimum review score to accept (0-1).")] = None,
    seed: Annotated[int | None, typer.Option(help="Split seed.")] = None,
    task: Annotated[
        str | None,
        typer.Option(help="Record type: qa, cot, dialogue, classification, preference, reward, or eval (a test set)."),
    ] = None,
    holdout_from: Annotated[
        list[Path] | None,
        typer.Option(
            "--holdout-from",
            help="--task eval: training data to keep the set off (a finished run id, a build folder or a dataset "
            "file); repeatable.",
        ),
    ] = None,
    holdout: Annotated[
        str | None,
        typer.Option(help="--task eval: none, section or document: also leave out what the training data used."),
    ] = None,
    target: Annotated[
        int | None, typer.Option(help="Accepted samples wanted (sizes the work, balances labels).")
    ] = None,
    judge: JudgeOpt = None,
    answer_check: AnswerCheckOpt = None,
    min_answer_probability: MinAnswerProbabilityOpt = None,
    min_unconfirmed_probability: MinUnconfirmedProbabilityOpt = None,
    label_tree: Annotated[Path | None, typer.Option("--label-tree", help="Your label tree (YAML/JSON).")] = None,
    no_labels: Annotated[bool, typer.Option("--no-labels", help="Do not build a label tree.")] = False,
    topic: Annotated[str | None, typer.Option(help="Topic to distil from when no input is given.")] = None,
    with_context: Annotated[
        bool | None,
        typer.Option("--with-context", help="Records carry their located evidence as context (RAG fine-tuning)."),
    ] = None,
    dataset_name: Annotated[
        str | None, typer.Option(help="Name this dataset is remembered under (default: the --out folder's name).")
    ] = None,
    dedupe_against: Annotated[
        str | None, typer.Option(help="Drop samples that mean the same as ones in the dataset of this name.")
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(help="local (this process) or ray: the per-chunk flows on a Ray cluster (extra: ray)."),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="--executor ray: the cluster (HOST:PORT, ray://...); default a local Ray."),
    ] = None,
    ray_workers: Annotated[
        int | None, typer.Option("--ray-workers", help="--executor ray: actors running chunks (default: one per CPU).")
    ] = None,
    batch: Annotated[
        bool,
        typer.Option(
            "--batch",
            help="Send generation and review calls through the endpoint's Batch API (OpenAI-compatible; about "
            "half the price, answers within hours). Resumable: --resume waits for the batches already sent.",
        ),
    ] = False,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Name the run (default: random id).")] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="Resume the run with this id.")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the dataset --out already holds (only the files it wrote).")
    ] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build a dataset: load, chunk, generate Q&A, review, dedupe, split and export (resumable). With
    ``--task eval``, an evaluation set instead, audited against ``--holdout-from`` training data."""
    settings = settings_from(
        config,
        llm={
            "backend": backend,
            "model": model,
            "base_url": base_url,
            "api_key_env": api_key_env,
            "batch": True if batch else None,
        },
        build={
            "domain": domain,
            "max_chunks": max_chunks,
            "questions_per_chunk": questions_per_chunk,
            "formats": formats,
            "accept_threshold": threshold,
            "judge": judge,
            "answer_check": answer_check,
            "min_answer_probability": min_answer_probability,
            "min_unconfirmed_probability": min_unconfirmed_probability,
            "task": task,
            "target": target,
            "label_tree_file": str(label_tree) if label_tree else None,
            "labels": "none" if no_labels else None,
            "topic": topic,
            "dataset_name": dataset_name,
            "with_context": with_context,
            "dedupe_against": dedupe_against,
            "executor": executor or ("ray" if ray_address else None),
            "ray_address": ray_address,
            "ray_workers": ray_workers,
        },
        split={"seed": seed},
        evaluation={"holdout": holdout},
    )
    if batch and settings.reviewer is not None:
        settings.reviewer = _batched(settings.reviewer, "reviewer")
    paths = [*(inputs or []), *(input_opt or [])]
    if (holdout_from or holdout) and settings.build.task != "eval":
        raise fail("--holdout-from and --holdout are for --task eval (an evaluation set kept off training data)")
    if executor not in (None, "local", "ray"):
        raise fail(f"unknown executor {executor!r}: choose local or ray")
    if executor == "local" and ray_address:
        raise fail("--ray-address is for --executor ray")
    if holdout_from:
        from ftds.agents.cli_eval import training_paths

        settings.evaluation.training = training_paths(holdout_from, settings.runs_dir)
    where = (settings.build.executor, settings.build.ray_address) if executor or ray_address else None
    summary = run_build(
        settings, paths, out, run_id=run_id, resume=resume, overwrite=overwrite, as_json=as_json, executor=where
    )
    _finish(summary, as_json)


def _batched(llm: LLMSettings, name: str) -> LLMSettings:
    """``--batch`` applies to a separately configured reviewer endpoint too (it must have a Batch API)."""
    if llm.backend != "openai":
        raise fail(
            f"--batch needs an OpenAI-compatible endpoint, and the {name} is the {llm.backend} model: configure "
            f"{name}.backend = openai (with base_url and model), or leave --batch out"
        )
    return LLMSettings.model_validate({**llm.model_dump(), "batch": True})


def run_build(
    settings: Settings,
    paths: list[Path],
    out: Path,
    *,
    run_id: str | None = None,
    resume: str | None = None,
    overwrite: bool = False,
    as_json: bool = False,
    executor: tuple[str, str | None] | None = None,
) -> RunSummary:
    """Start (or resume) a run of the build graph and wait for it, with progress: ``build`` and its wrapper
    ``eval-set build`` both end here. Exits 2 for bad input, 130 when interrupted (the run stays resumable).
    ``executor`` moves a resumed run's unfinished chunks (name, Ray address)."""
    from ftds.agents import runner
    from ftds.agents.events import NoteEvent
    from ftds.agents.runs import RunStore
    from ftds.tools.evaluation.build import TrainingDataError
    from ftds.tools.llm import LLMError
    from ftds.tools.llm.batched import on_batch_notes

    reporter = make_reporter(quiet=as_json)
    if not resume and settings.build.task == "eval":
        if not paths:
            raise fail("--task eval needs documents to write items from: give files or folders")
        if settings.build.target is not None:
            raise fail("--target sizes a training set; size an evaluation set with --max-chunks")
    try:
        if resume:
            record, context = runner.prepare_resume(
                settings.runs_dir, resume, reporter.event, current=settings, executor=executor
            )
            if record.status in ("finished", "partial") and record.summary:
                return RunSummary.model_validate(record.summary)
            run_inputs: list[Path] | None = None
        else:
            if not paths and not as_json:
                typer.echo(
                    "no input given: distilling from the domain topic alone (pass --input DIR to build from documents)",
                    err=True,
                )
            check_inputs(paths)
            output_path(out, "folder")
            record, context = runner.start(settings, paths, out, reporter.event, run_id, overwrite)
            run_inputs = paths
        runner.attach_executor(context)
    except (runner.RunError, LLMError, ValueError) as exc:
        raise fail(str(exc)) from None
    if not as_json:
        typer.echo(f"run {context.run_id}: {'resuming' if resume else 'started'} -> {context.out_dir}", err=True)
    on_batch_notes([context.generator, context.reviewer], lambda message: reporter.event(NoteEvent(message=message)))

    async def _run() -> RunSummary:
        try:
            return await runner.execute(RunStore(context.settings.runs_dir), context, run_inputs)
        finally:
            await runner.close_context(context)

    try:
        with reporter:
            summary = asyncio.run(_run())
    except KeyboardInterrupt:
        typer.echo(
            f"\ninterrupted: finished work is saved. Resume with: ftds-agent build --resume {context.run_id}",
            err=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except TrainingDataError as exc:  # read at the start too, so only a file changed during the run gets here
        raise fail(f"{exc}; fix it and resume with: ftds-agent build --resume {context.run_id}") from None
    return summary


def _finish(summary: RunSummary, as_json: bool) -> None:
    if as_json:
        typer.echo(summary.model_dump_json(indent=2))
    else:
        make_reporter(quiet=False).print_summary(summary)
    if summary.accepted == 0:
        raise typer.Exit(EXIT_FATAL)
    raise typer.Exit(EXIT_OK if summary.complete else EXIT_PARTIAL)


@app.command()
def runs(
    limit: Annotated[int, typer.Option(help="Show at most N runs, newest first.")] = 20,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List build runs with their status, so an interrupted one can be resumed."""
    from ftds.agents.runs import RunStore

    settings = settings_from(config)
    records = RunStore(settings.runs_dir).list(limit)
    if as_json:
        typer.echo(json.dumps([r.model_dump(exclude={"settings"}) for r in records], ensure_ascii=False))
        return
    if not records:
        typer.echo("no runs yet", err=True)
        return
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
        accepted = r.summary.get("accepted") if r.summary else "-"
        typer.echo(f"{r.run_id}  {r.status:11}  {when}  accepted={accepted}  {r.domain}  -> {r.out_dir}")
