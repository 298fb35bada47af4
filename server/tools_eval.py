"""MCP tools for evaluation sets: ``build_eval_set`` (items from documents, audited against training data) and
``run_eval`` (answer a set with a model, or two to compare, and write the report).

Both can run for a long time with a local model, so they stream ``notifications/progress`` (one per chunk or
per answered item). ``run_eval`` is resumable: calling it again with the same ``out_dir`` asks only the items
that have no saved answer. Everything heavy (numpy, the LLM clients, matplotlib) is imported inside the tools.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ftds.server.limits import NameText, PathList, PathText, UrlText, bounded_list
from ftds.server.progress import BuildProgressRelay, ProgressPump
from ftds.server.state import ServerState, state_of, tool_annotations
from ftds.server.tools_dataset import OverwriteArg
from ftds.tools.redact import redact_text

ItemKindName = Literal["single_choice", "multiple_choice", "true_false", "short_answer", "open"]
KindList = Annotated[list[ItemKindName], bounded_list(5, "name each kind once"), Field(max_length=5)]


class EvalSetResult(BaseModel):
    out_dir: str
    items: int
    by_kind: dict[str, int]
    by_difficulty: dict[str, int]
    true_false: dict[str, int]
    rejected: int = Field(description="Drafts left out (checks, balance, leakage audit), kept in rejected.jsonl.")
    rejection_reasons: dict[str, int]
    failed: int = Field(description="Generation calls or files that failed.")
    failure_reasons: dict[str, int]
    outputs: dict[str, str] = Field(description="items.jsonl, rejected.jsonl, audit.json, the card and the exports.")


class ModelScore(BaseModel):
    model: str
    overall: float = Field(description="Mean item score 0..1 (exact-match items 0/1, open items rubric share).")
    exact_match_accuracy: float
    exact_match_items: int
    judged_mean: float
    judged_items: int
    failed: int
    by_kind: dict[str, float]
    by_difficulty: dict[str, float]
    by_label: dict[str, float]


class ComparisonResult(BaseModel):
    difference: float = Field(description="Mean score of the second model minus the first.")
    interval: tuple[float, float] = Field(description="95% paired bootstrap interval of the difference.")
    mcnemar_p: float = Field(description="McNemar exact p-value on exact-match items.")
    first_only_right: int
    second_only_right: int


class RunEvalResult(BaseModel):
    out_dir: str
    items: int
    models: list[ModelScore]
    comparison: ComparisonResult | None = None
    judge: str | None = None
    complete: bool = Field(description="False when some items could not be answered or judged (listed in report).")
    outputs: dict[str, str]


class _EvalProgress(ProgressPump):
    """The evaluation runner's (done, total, message) callbacks; a comparison's second model counts on."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._offset = 0.0
        self._last_total = 0.0

    def __call__(self, done: int, total: int, message: str) -> None:
        if done == 0 and self._last_total:  # the second model of a comparison starts counting again
            self._offset += self._last_total
        self._last_total = float(total)
        self.put(self._offset + done, None, message)


def register(server: MCPServer[ServerState]) -> None:
    @server.tool(
        name="build_eval_set",
        annotations=tool_annotations(
            "Build an evaluation set", read_only=False, destructive=False, idempotent=False, open_world=False
        ),
    )
    async def build_eval_set(
        ctx: Context,
        paths: Annotated[PathList, Field(description="Files or folders of literature, inside the allowed roots.")],
        out_dir: Annotated[PathText, Field(description="Folder for the evaluation set.")] = "ftds-eval-set",
        training: Annotated[
            PathList,
            Field(description="Training data to keep the set off: a build's output folder or a dataset file."),
        ] = [],  # noqa: B006
        holdout: Annotated[
            Literal["none", "section", "document"],
            Field(description="Also leave out items from sections (or documents) the training data used."),
        ] = "none",
        kinds: Annotated[KindList | None, Field(description="Item kinds; default all five.")] = None,
        items_per_kind: Annotated[int, Field(description="Items asked for per kind and chunk.", ge=1, le=10)] = 2,
        max_chunks: Annotated[int | None, Field(description="Use at most N chunks.", ge=1)] = None,
        domain: Annotated[NameText, Field(description="Domain preset: law, medicine, finance, general.")] = "law",
        overwrite: OverwriteArg = False,
    ) -> EvalSetResult:
        """Generate evaluation items (single/multiple choice, true/false, short answer, open with rubric) from
        documents, each with its evidence span; check answer keys and distractors against the source, balance
        true/false, exclude items near any training sample, and write the set with EvalScope / OpenCompass /
        lighteval exports and a card. The same resumable run as a build with task eval (the one per-chunk flow);
        streams progress per chunk."""
        from ftds.agents import runner  # langgraph is imported on first use, keeping server start-up fast
        from ftds.agents.runs import RunStore
        from ftds.tools.dataset.files import OutputExistsError
        from ftds.tools.evaluation.build import TrainingDataError, load_training_records
        from ftds.tools.evaluation.store import read_info
        from ftds.tools.llm import LLMError

        state = state_of(ctx)
        if not paths:
            raise ToolError("give at least one file or folder in paths")
        inputs = [state.path(p, whole_folder=False) for p in paths]  # the walk reports links per file
        training_paths = [state.path(p) for p in training]
        missing = [p for p, r in zip([*paths, *training], [*inputs, *training_paths], strict=True) if not r.exists()]
        if missing:
            raise ToolError(f"not found: {', '.join(missing)}; pass existing files or folders")
        target = state.path(out_dir)
        settings = state.settings.model_copy(deep=True)
        settings.build.task = "eval"
        settings.build.domain = domain
        settings.build.max_chunks = max_chunks
        settings.evaluation.holdout = holdout
        settings.evaluation.items_per_kind = items_per_kind
        settings.evaluation.training = training_paths
        if kinds:
            settings.evaluation.kinds = list(kinds)
        relay = BuildProgressRelay(ctx)
        try:
            load_training_records(training_paths)  # refuse unreadable training data before any work
            _, context = runner.start(settings, inputs, target, relay.event, overwrite=overwrite)
        except (TrainingDataError, runner.RunError, LLMError, OutputExistsError) as exc:
            raise ToolError(redact_text(str(exc))) from None
        context.confinement = state.confinement()  # every file the run reads stays inside the roots
        hint = f"resume with `ftds-agent build --resume {context.run_id}`"
        pump = asyncio.create_task(relay.pump())
        try:
            summary = await runner.execute(RunStore(settings.runs_dir), context, inputs)
        except Exception as exc:
            raise ToolError(f"run {context.run_id} failed: {redact_text(str(exc))}; {hint}") from None
        finally:
            relay.close()
            await pump
            await _aclose([context.generator, context.reviewer])
        info = read_info(target)
        if info is None:
            raise ToolError(f"run {summary.run_id} wrote no evaluation set; see {target / 'report.md'}")
        return EvalSetResult(
            out_dir=str(target),
            items=info.items,
            by_kind=info.by_kind,
            by_difficulty=info.by_difficulty,
            true_false=info.true_false,
            rejected=info.rejected,
            rejection_reasons=info.rejection_reasons,
            failed=info.failed,
            failure_reasons=info.failure_reasons,
            outputs=info.outputs,
        )

    @server.tool(
        name="run_eval",
        annotations=tool_annotations(
            "Evaluate a model on an evaluation set",
            read_only=False,
            destructive=False,
            idempotent=True,
            open_world=True,
        ),
    )
    async def run_eval(
        ctx: Context,
        set_dir: Annotated[PathText, Field(description="Evaluation set folder (from build_eval_set).")],
        model: Annotated[NameText, Field(description="Model under test: endpoint model name or embedded model key.")],
        base_url: Annotated[
            UrlText | None, Field(description="OpenAI-compatible base URL of the model under test; none = embedded.")
        ] = None,
        out_dir: Annotated[PathText, Field(description="Folder for answers and the report.")] = "ftds-eval-report",
        judge: Annotated[NameText | None, Field(description="Judge model for open items (default: the model).")] = None,
        judge_base_url: Annotated[UrlText | None, Field(description="The judge's base URL.")] = None,
        compare: Annotated[NameText | None, Field(description="A second model to compare on the same items.")] = None,
        compare_base_url: Annotated[UrlText | None, Field(description="The second model's base URL.")] = None,
        fresh: Annotated[bool, Field(description="Discard saved answers in out_dir and ask again.")] = False,
    ) -> RunEvalResult:
        """Answer every item with the model (and the comparison model), score choice / true-false / short items
        by exact match and open items with the judge and their rubric, and write report.json / .md / .html with
        per-label, per-kind and per-difficulty scores, the wrong items with their evidence and, when comparing,
        McNemar's exact test and paired bootstrap intervals. Resumable; streams progress per item."""
        from ftds.tools.evaluation.evaluate import EvalRunError, endpoint, evaluate
        from ftds.tools.evaluation.store import EvalSetError
        from ftds.tools.llm import LLMError, make_chat_model

        state = state_of(ctx)
        source = state.path(set_dir)
        target = state.path(out_dir)
        settings = state.settings
        models: list[object] = []
        try:
            under_test = make_chat_model(endpoint(settings.llm, model, base_url=base_url), settings.cache_dir)
            models.append(under_test)
            second = (
                make_chat_model(endpoint(settings.llm, compare, base_url=compare_base_url), settings.cache_dir)
                if compare
                else None
            )
            models.append(second)
            grader_settings = (
                endpoint(settings.llm, judge, base_url=judge_base_url) if judge else settings.evaluation.judge
            )
            grader = make_chat_model(grader_settings, settings.cache_dir) if grader_settings else None
            models.append(grader)
        except (LLMError, EvalRunError) as exc:
            await _aclose(models)
            raise ToolError(str(exc)) from None
        relay = _EvalProgress(ctx)
        pump = asyncio.create_task(relay.pump())
        try:
            report = await evaluate(
                source, target, settings, under_test, compare_model=second, judge=grader, fresh=fresh, progress=relay
            )
        except (EvalSetError, EvalRunError) as exc:
            raise ToolError(str(exc)) from None
        finally:
            relay.close()
            await pump
            await _aclose(models)
        comparison = None
        if report.comparison is not None:
            c = report.comparison
            comparison = ComparisonResult(
                difference=c.overall.difference,
                interval=(c.overall.low, c.overall.high),
                mcnemar_p=c.exact_match.p_value,
                first_only_right=c.exact_match.a_only,
                second_only_right=c.exact_match.b_only,
            )
        return RunEvalResult(
            out_dir=str(target),
            items=report.items,
            models=[
                ModelScore(
                    model=m.model,
                    overall=m.overall.mean_score,
                    exact_match_accuracy=m.exact_match.accuracy,
                    exact_match_items=m.exact_match.items,
                    judged_mean=m.judged.mean_score,
                    judged_items=m.judged.items,
                    failed=m.failed,
                    by_kind={k: s.mean_score for k, s in m.by_kind.items()},
                    by_difficulty={k: s.mean_score for k, s in m.by_difficulty.items()},
                    by_label={k: s.mean_score for k, s in m.by_label.items()},
                )
                for m in report.models
            ],
            comparison=comparison,
            judge=report.judge,
            complete=report.complete,
            outputs=report.outputs,
        )


async def _aclose(models: list[object]) -> None:
    seen: set[int] = set()
    for model in models:
        if model is not None and id(model) not in seen:
            seen.add(id(model))
            await model.aclose()  # type: ignore[attr-defined]
