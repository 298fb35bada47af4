"""``ftds-agent eval-set build`` (an evaluation set from documents: ``ftds-agent build --task eval`` with the
set's options) and ``ftds-agent eval`` (answer a set with a model, or two to compare, and write the report).
Both are thin: the work is in the build graph and ``ftds.tools.evaluation``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from ftds.agents.cli_common import ConfigOpt, JsonOpt, app, check_inputs, fail, output_path, settings_from
from ftds.agents.exit_codes import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from ftds.agents.progress import StepProgress

eval_set_app = typer.Typer(help="Build evaluation sets from documents.", no_args_is_help=True)
app.add_typer(eval_set_app, name="eval-set")

EXIT_INTERRUPTED = 130


async def _aclose(*models: Any) -> None:
    """Close each distinct model once, inside the event loop that used it (its connections belong there)."""
    seen: set[int] = set()
    for model in models:
        if model is not None and id(model) not in seen:
            seen.add(id(model))
            await model.aclose()


def training_paths(values: list[Path], runs_dir: Path) -> list[Path]:
    """Each ``--holdout-from`` value as a path: an existing file or folder, else the output folder of the
    finished build run with that id (``ftds-agent runs`` lists them). The data is read once here, so a file
    that cannot be read is refused before any work."""
    from ftds.agents.runs import RunStore
    from ftds.tools.evaluation.build import TrainingDataError, load_training_records

    resolved: list[Path] = []
    for value in values:
        if value.exists():
            resolved.append(value)
            continue
        record = RunStore(runs_dir).get(str(value)) if runs_dir.exists() else None
        if record is None:
            raise fail(f"training data not found: {value} is neither a file, a folder nor a build run id")
        if record.status not in ("finished", "partial"):
            raise fail(
                f"run {value} has not finished ({record.status}); finish it with `ftds-agent build --resume "
                f"{value}` or pass its output folder"
            )
        resolved.append(Path(record.out_dir))
    check_inputs(resolved)
    try:
        load_training_records(resolved)
    except TrainingDataError as exc:
        raise fail(str(exc)) from None
    return [path.resolve() for path in resolved]


@eval_set_app.command("build")
def eval_set_build(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders of literature.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the evaluation set.")] = Path("out/eval-set"),
    training: Annotated[
        list[Path] | None,
        typer.Option(
            "--training",
            "--holdout-from",
            help="Training data to keep the set off: a build's run id or output folder, or a dataset file; repeatable.",
        ),
    ] = None,
    holdout: Annotated[
        str | None, typer.Option(help="none, section or document: also leave out sections the training data used.")
    ] = None,
    kinds: Annotated[
        list[str] | None,
        typer.Option("--kind", help="single_choice, multiple_choice, true_false, short_answer, open; repeatable."),
    ] = None,
    items_per_kind: Annotated[int | None, typer.Option(help="Items asked for per kind and chunk.")] = None,
    max_chunks: Annotated[int | None, typer.Option(help="Use at most N chunks, spread over the documents.")] = None,
    domain: Annotated[str | None, typer.Option(help="Domain preset: law, medicine, finance, general.")] = None,
    no_semantic: Annotated[bool, typer.Option("--no-semantic", help="Skip the embedding audit.")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the set (or dataset) --out already holds.")
    ] = False,
    backend: Annotated[str | None, typer.Option(help="Generator: embedded or openai.")] = None,
    model: Annotated[str | None, typer.Option(help="Generator model (embedded key or endpoint model name).")] = None,
    base_url: Annotated[str | None, typer.Option(help="Generator's OpenAI-compatible base URL.")] = None,
    api_key_env: Annotated[str | None, typer.Option(help="Env var holding the generator's API key.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Generate an evaluation set (choice, true/false, short-answer and open items with evidence), vet every
    item, balance true/false, audit it against training data, and write it with EvalScope/OpenCompass/lighteval
    exports and a card. The same run as `ftds-agent build --task eval` (resumable with `build --resume`), with
    the set's own options; prints the set's summary (set.json)."""
    from ftds.agents.cli_build import run_build
    from ftds.tools.evaluation.store import read_info

    settings = settings_from(
        config,
        llm={"backend": backend, "model": model, "base_url": base_url, "api_key_env": api_key_env},
        build={"domain": domain, "max_chunks": max_chunks, "task": "eval"},
        evaluation={
            "kinds": kinds,
            "items_per_kind": items_per_kind,
            "holdout": holdout,
            "semantic_audit": False if no_semantic else None,
        },
    )
    check_inputs(inputs)
    settings.evaluation.training = training_paths(training or [], settings.runs_dir)
    summary = run_build(settings, inputs, out, overwrite=overwrite, as_json=as_json)
    info = read_info(out)
    if info is None:
        raise fail(f"the run {summary.run_id} wrote no evaluation set into {out}; see {out / 'report.md'}", EXIT_FATAL)
    if as_json:
        typer.echo(info.model_dump_json(indent=2))
    else:
        typer.echo(
            f"{info.items} items ({', '.join(f'{k} {v}' for k, v in sorted(info.by_kind.items()))}); "
            f"{info.rejected} left out ({', '.join(f'{k} {v}' for k, v in sorted(info.rejection_reasons.items()))}); "
            f"{info.failed} failed -> {out} (run {summary.run_id})",
            err=True,
        )
    if info.items == 0:
        raise typer.Exit(EXIT_FATAL)
    raise typer.Exit(EXIT_PARTIAL if info.failed else EXIT_OK)


@app.command("eval")
def eval_command(
    set_dir: Annotated[Path, typer.Option("--set", help="Evaluation set folder (from `eval-set build`).")],
    model: Annotated[str, typer.Option(help="Model under test: endpoint model name, or an embedded model key.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for answers and the report.")] = Path("out/eval"),
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible base URL of the model under test (vLLM, llama.cpp, Ollama).")
    ] = None,
    backend: Annotated[str | None, typer.Option(help="embedded or openai (default: openai with --base-url).")] = None,
    api_key_env: Annotated[str | None, typer.Option(help="Env var holding the endpoint's API key.")] = None,
    judge: Annotated[str | None, typer.Option(help="Judge model for open items (default: the model itself).")] = None,
    judge_base_url: Annotated[str | None, typer.Option(help="The judge's OpenAI-compatible base URL.")] = None,
    judge_backend: Annotated[str | None, typer.Option(help="The judge's backend: embedded or openai.")] = None,
    judge_api_key_env: Annotated[str | None, typer.Option(help="Env var holding the judge's API key.")] = None,
    compare: Annotated[str | None, typer.Option(help="A second model to compare on the same set.")] = None,
    compare_base_url: Annotated[str | None, typer.Option(help="The second model's base URL.")] = None,
    compare_backend: Annotated[str | None, typer.Option(help="The second model's backend.")] = None,
    compare_api_key_env: Annotated[str | None, typer.Option(help="Env var holding the second model's key.")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Discard answers kept in --out and ask again.")] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not reuse cached replies (a new checkpoint under an old name).")
    ] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer every item of an evaluation set with a model (any OpenAI-compatible endpoint or the embedded
    model), score it (exact match; open items by a judge and their rubric) and write report.json, report.md and
    report.html. Re-running the same command resumes: only unanswered items are asked."""
    from ftds.tools.evaluation.evaluate import EvalRunError, endpoint, evaluate
    from ftds.tools.evaluation.report import EvalReport
    from ftds.tools.evaluation.store import EvalSetError
    from ftds.tools.llm import LLMError, make_chat_model

    if not set_dir.exists():
        raise fail(f"evaluation set not found: {set_dir}; build one with `ftds-agent eval-set build`")
    settings = settings_from(config, llm={"cache": False if no_cache else None})
    output_path(out, "folder")
    try:
        under_test = endpoint(settings.llm, model, base_url=base_url, backend=backend, api_key_env=api_key_env)
        other = (
            endpoint(
                settings.llm,
                compare,
                base_url=compare_base_url,
                backend=compare_backend,
                api_key_env=compare_api_key_env,
            )
            if compare
            else None
        )
        judge_settings = (
            endpoint(settings.llm, judge, base_url=judge_base_url, backend=judge_backend, api_key_env=judge_api_key_env)
            if judge
            else settings.evaluation.judge
        )
    except EvalRunError as exc:
        raise fail(str(exc)) from None
    models: list[Any] = []
    try:
        primary = make_chat_model(under_test, settings.cache_dir)
        models.append(primary)
        second = make_chat_model(other, settings.cache_dir) if other else None
        models.append(second)
        grader = make_chat_model(judge_settings, settings.cache_dir) if judge_settings else None
        models.append(grader)
    except LLMError as exc:
        asyncio.run(_aclose(*models))
        raise fail(str(exc)) from None
    try:
        with StepProgress("items", as_json) as progress:

            async def run() -> EvalReport:
                try:
                    return await evaluate(
                        set_dir,
                        out,
                        settings,
                        primary,
                        compare_model=second,
                        judge=grader,
                        fresh=fresh,
                        progress=progress,
                    )
                finally:
                    await _aclose(*models)

            report = asyncio.run(run())
    except KeyboardInterrupt:
        typer.echo("\ninterrupted: answered items are saved. Run the same command again to resume.", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (EvalSetError, EvalRunError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        for summary in report.models:
            typer.echo(
                f"{summary.model}: overall {summary.overall.mean_score:.1%} "
                f"(exact match {summary.exact_match.accuracy:.1%} of {summary.exact_match.items}, "
                f"judged {summary.judged.mean_score:.1%} of {summary.judged.items}); {summary.failed} failed",
                err=True,
            )
        if report.comparison is not None:
            c = report.comparison
            typer.echo(
                f"difference (2nd - 1st): {c.overall.difference:+.3f} [{c.overall.low:+.3f}, {c.overall.high:+.3f}]; "
                f"McNemar p = {c.exact_match.p_value:.4g}",
                err=True,
            )
        typer.echo(f"report: {report.outputs.get('report_html')}", err=True)
    if all(m.scored == 0 for m in report.models):
        raise typer.Exit(EXIT_FATAL)
    raise typer.Exit(EXIT_OK if report.complete else EXIT_PARTIAL)
