"""``ftds-agent eval`` as one plain function: answer a set with one model (or two, to compare), judge the open
items, write the report. The CLI and the MCP tool ``run_eval`` only build the models and call :func:`evaluate`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from ftds.tools.config import LLMSettings, Settings
from ftds.tools.dataset.files import write_json
from ftds.tools.evaluation.items import OpenItem
from ftds.tools.evaluation.report import EvalReport, compare, summarise_model, write_report, wrong_items
from ftds.tools.evaluation.run import run_model, usage_of
from ftds.tools.evaluation.store import load_eval_set, read_info
from ftds.tools.llm.base import ChatModel

Progress = Callable[[int, int, str], None]
RUN_FILE = "run.json"


class EvalRunError(ValueError):
    """An evaluation that cannot start (bad set, an output folder holding another set's answers)."""


def endpoint(
    base: LLMSettings,
    model: str,
    *,
    base_url: str | None = None,
    backend: str | None = None,
    api_key_env: str | None = None,
) -> LLMSettings:
    """Settings for one endpoint: ``base`` with the model named; an OpenAI-compatible endpoint when a base URL
    is given (or ``backend="openai"``), else the embedded model of that name."""
    chosen = backend or ("openai" if base_url else "embedded")
    if chosen not in ("embedded", "openai"):
        raise EvalRunError(f"backend must be embedded or openai, got {backend!r}")
    update: dict[str, object] = {
        "model": model,
        "backend": chosen,
        "base_url": base_url if chosen == "openai" else None,
    }
    if api_key_env:
        update["api_key_env"] = api_key_env
    return base.model_copy(update=update)


def _fingerprint(item_ids: list[str]) -> str:
    return hashlib.sha256("\n".join(item_ids).encode("utf-8")).hexdigest()[:16]


def prepare_out_dir(out_dir: Path, set_dir: Path, item_ids: list[str], fresh: bool) -> bool:
    """Create or reuse ``out_dir``; True when earlier answers for the same set are there to resume from.
    Answers for another set are never mixed in: that is an error unless ``fresh`` (start over)."""
    run_file = out_dir / RUN_FILE
    fingerprint = _fingerprint(item_ids)
    if fresh and (out_dir / "answers").exists():
        shutil.rmtree(out_dir / "answers")
        run_file.unlink(missing_ok=True)
    resuming = False
    if run_file.is_file():
        data = json.loads(run_file.read_text(encoding="utf-8"))
        if data.get("fingerprint") != fingerprint:
            raise EvalRunError(
                f"{out_dir} holds answers for another evaluation set ({data.get('set_dir')}); pass another --out "
                "or --fresh to discard them"
            )
        resuming = True
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_file, {"set_dir": str(set_dir), "fingerprint": fingerprint, "items": len(item_ids)})
    return resuming


async def evaluate(
    set_dir: Path,
    out_dir: Path,
    settings: Settings,
    model: ChatModel,
    *,
    compare_model: ChatModel | None = None,
    judge: ChatModel | None = None,
    fresh: bool = False,
    progress: Progress | None = None,
) -> EvalReport:
    """Answer and score every item of the set at ``set_dir`` with ``model`` (and ``compare_model``), write
    report.json / report.md / report.html into ``out_dir`` and return the report. Open items are judged by
    ``judge``, or by the model under test itself when none is given (marked ``self_judged``)."""
    started = time.perf_counter()
    items = load_eval_set(set_dir)
    info = read_info(set_dir)
    prepare_out_dir(out_dir, set_dir, [i.item_id for i in items], fresh)
    has_open = any(isinstance(i, OpenItem) for i in items)
    runs = [model, *([compare_model] if compare_model is not None else [])]
    results = []
    for candidate in runs:
        grader = judge or (candidate if has_open else None)
        results.append(await run_model(items, candidate, grader, settings, out_dir, progress))
    summaries = [summarise_model(items, r, m.label, usage_of(m)) for m, r in zip(runs, results, strict=True)]
    report = EvalReport(
        set_dir=str(set_dir),
        set_name=info.name if info else set_dir.name,
        items=len(items),
        judge=(judge.label if judge else "the model under test") if has_open else None,
        self_judged=has_open and judge is None,
        models=summaries,
        comparison=(
            compare(
                items,
                results[0],
                results[1],
                resamples=settings.evaluation.bootstrap_samples,
                seed=settings.evaluation.seed,
            )
            if len(results) == 2
            else None
        ),
        wrong={m.label: wrong_items(items, r) for m, r in zip(runs, results, strict=True)},
    )
    report.wall_time_s = round(time.perf_counter() - started, 2)
    write_report(out_dir, report)
    return report
