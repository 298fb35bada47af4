"""The studio's JSON API (Starlette) over ``ftds.tools.studio``, and the static single-page UI.

Handlers only parse the request, call one tools function in a worker thread and shape the answer; studio
errors become JSON ``{"error": sentence}`` with 400/404/409, anything else a 500 without a traceback. The
reviewer's name comes with every change in the ``X-Reviewer`` header (URL-encoded, so Chinese names pass).
Paths the UI names (imports, taxonomies) must lie inside the studio's roots, as MCP tool paths do.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import time
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ftds.server.paths import PathNotAllowed, confine
from ftds.tools.studio import importing, operations, publish, taxonomy, team
from ftds.tools.studio.models import Conflict, Decision, NotFound, SampleFilter, StudioError
from ftds.tools.studio.operations import BulkOp
from ftds.tools.studio.store import Workspace

log = logging.getLogger("ftds.studio")
STATIC = Path(str(resources.files("ftds.server.studio") / "static"))


@dataclass
class StudioContext:
    ws: Workspace
    roots: list[Path]
    exports_dir: Path
    runs_dir: Path | None = None
    exports: dict[str, Path] = field(default_factory=dict)  # download key -> exported folder

    def path(self, raw: str) -> Path:
        try:
            return confine(raw, self.roots)
        except PathNotAllowed as exc:
            raise StudioError(str(exc)) from None


Handler = Callable[[Request, StudioContext], Awaitable[Any]]


def _reviewer(request: Request) -> str:
    return unquote(request.headers.get("x-reviewer", "")).strip()


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise StudioError("the request body must be a JSON object") from None
    if not isinstance(data, dict):
        raise StudioError("the request body must be a JSON object")
    return data


def _dataset(request: Request) -> int:
    return int(request.path_params["dataset"])


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _route(path: str, handler: Handler, ctx: StudioContext, methods: list[str]) -> Route:
    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request, ctx)
        except NotFound as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        except Conflict as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        except (StudioError, ValidationError, ValueError) as exc:
            message = str(exc)
            if isinstance(exc, ValidationError):
                first = exc.errors()[0]
                message = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
            return JSONResponse({"error": message}, status_code=400)
        except Exception as exc:  # no traceback reaches the browser; the log keeps it
            log.exception("studio request failed")
            return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the server log"}, 500)
        if isinstance(result, Response):
            return result
        return JSONResponse(_jsonable(result))

    return Route(path, endpoint, methods=methods)


def _filter(request: Request) -> SampleFilter:
    q = request.query_params

    def number(name: str) -> float | None:
        value = q.get(name, "")
        return float(value) if value.strip() else None

    def text(name: str) -> str | None:
        return q[name] if name in q and (q[name] != "" or name in ("label", "reviewer")) else None

    ids = q.get("sample_ids")
    return SampleFilter(
        label=text("label") if q.get("label") != "*" else None,
        decision=q.get("decision") or None,
        min_score=number("min_score"),
        max_score=number("max_score"),
        failed_check=q.get("failed_check") or None,
        source=q.get("source") or None,
        reviewer=text("reviewer") if q.get("reviewer") != "*" else None,
        split=q.get("split") or None,
        assigned_to=q.get("assigned_to") or None,
        query=q.get("q") or None,
        sample_ids=ids.split(",") if ids else None,
    )


# --- handlers ------------------------------------------------------------------------------------------------


async def list_datasets(request: Request, ctx: StudioContext) -> Any:
    return await run_in_threadpool(operations.list_datasets, ctx.ws)


class ImportBody(BaseModel):
    path: str
    name: str | None = None
    mapping: dict[str, str] = Field(default_factory=dict)
    source_format: str = "auto"
    documents: list[str] = Field(default_factory=list, description="Input documents (for the source passages).")


async def import_dataset(request: Request, ctx: StudioContext) -> Any:
    body = ImportBody.model_validate(await _body(request))
    path = ctx.path(body.path)
    return await run_in_threadpool(
        importing.import_path,
        ctx.ws,
        path,
        name=body.name or None,
        mapping=body.mapping,
        source_format=body.source_format,
        documents=[ctx.path(raw) for raw in body.documents],
        runs_dir=ctx.runs_dir,
    )


async def get_dataset(request: Request, ctx: StudioContext) -> Any:
    return await run_in_threadpool(operations.get_dataset, ctx.ws, _dataset(request))


async def sync_dataset(request: Request, ctx: StudioContext) -> Any:
    return await run_in_threadpool(importing.sync_build, ctx.ws, _dataset(request), ctx.runs_dir)


async def list_samples(request: Request, ctx: StudioContext) -> Any:
    q = request.query_params
    return await run_in_threadpool(
        operations.list_samples,
        ctx.ws,
        _dataset(request),
        _filter(request),
        sort=q.get("sort", "position"),  # type: ignore[arg-type]
        descending=q.get("desc") in ("1", "true"),
        offset=int(q.get("offset", 0)),
        limit=int(q.get("limit", 50)),
    )


async def facets(request: Request, ctx: StudioContext) -> Any:
    """The values the filter menus offer: labels, sources, reviewers, checks, splits."""

    def work() -> dict[str, list[str]]:
        import sqlalchemy as sa

        from ftds.tools.studio.store import reading, samples

        dataset_id = _dataset(request)
        out: dict[str, list[str]] = {}
        with reading(ctx.ws) as conn:
            for name in ("source", "reviewer", "split"):
                column = samples.c[name]
                out[name + "s"] = sorted(
                    v
                    for v in conn.execute(
                        sa.select(column).where(samples.c.dataset_id == dataset_id).distinct()
                    ).scalars()
                    if v
                )
            checks = conn.execute(
                sa.select(samples.c.failed_checks)
                .where(samples.c.dataset_id == dataset_id, samples.c.failed_checks != "")
                .distinct()
            ).scalars()
            out["checks"] = sorted({name for value in checks for name in value.split(",") if name})
        out["labels"] = taxonomy.get_tree(ctx.ws, dataset_id)
        return out

    return await run_in_threadpool(work)


async def get_sample(request: Request, ctx: StudioContext) -> Any:
    return await run_in_threadpool(operations.get_sample, ctx.ws, _dataset(request), request.path_params["sample"])


async def update_sample(request: Request, ctx: StudioContext) -> Any:
    body = await _body(request)
    return await run_in_threadpool(
        operations.update_sample,
        ctx.ws,
        _dataset(request),
        request.path_params["sample"],
        body.get("fields") or {},
        _reviewer(request),
        body.get("version"),
    )


class DecisionBody(BaseModel):
    decision: Decision
    reason: str = ""
    version: int | None = None


async def decide(request: Request, ctx: StudioContext) -> Any:
    body = DecisionBody.model_validate(await _body(request))
    return await run_in_threadpool(
        operations.decide,
        ctx.ws,
        _dataset(request),
        request.path_params["sample"],
        body.decision,
        _reviewer(request),
        body.reason,
        body.version,
    )


async def rescue(request: Request, ctx: StudioContext) -> Any:
    body = await _body(request)
    return await run_in_threadpool(
        operations.rescue,
        ctx.ws,
        _dataset(request),
        request.path_params["sample"],
        _reviewer(request),
        str(body.get("reason") or "rescued"),
    )


async def undo(request: Request, ctx: StudioContext) -> Any:
    body = await _body(request)
    return await run_in_threadpool(operations.undo, ctx.ws, _dataset(request), _reviewer(request), body.get("audit_id"))


async def history(request: Request, ctx: StudioContext) -> Any:
    limit = int(request.query_params.get("limit", 50))
    return await run_in_threadpool(operations.history, ctx.ws, _dataset(request), None, limit)


async def bulk_preview(request: Request, ctx: StudioContext) -> Any:
    op = BulkOp.model_validate((await _body(request)).get("op") or {})
    return await run_in_threadpool(operations.preview, ctx.ws, _dataset(request), op, "preview", 500)


async def bulk_apply(request: Request, ctx: StudioContext) -> Any:
    body = await _body(request)
    op = BulkOp.model_validate(body.get("op") or {})
    return await run_in_threadpool(
        operations.apply, ctx.ws, _dataset(request), op, _reviewer(request), body.get("fingerprint")
    )


async def labels(request: Request, ctx: StudioContext) -> Any:
    dataset_id = _dataset(request)
    paths = await run_in_threadpool(taxonomy.get_tree, ctx.ws, dataset_id)
    balance = await run_in_threadpool(taxonomy.balance, ctx.ws, dataset_id)
    return {"paths": paths, "tree": taxonomy.tree_nested(paths), "balance": balance}


async def edit_labels(request: Request, ctx: StudioContext) -> Any:
    body = await _body(request)
    dataset_id, actor, action = _dataset(request), _reviewer(request), body.get("action")
    path = str(body.get("path") or "")
    if action == "add":
        return await run_in_threadpool(taxonomy.add_label, ctx.ws, dataset_id, path, actor)
    if action == "rename":
        return await run_in_threadpool(
            taxonomy.rename_label, ctx.ws, dataset_id, path, str(body.get("name") or ""), actor
        )
    if action == "move":
        return await run_in_threadpool(
            taxonomy.move_label, ctx.ws, dataset_id, path, str(body.get("parent") or ""), actor
        )
    if action == "merge":
        return await run_in_threadpool(
            taxonomy.merge_labels, ctx.ws, dataset_id, path, str(body.get("target") or ""), actor
        )
    if action == "remove":
        return await run_in_threadpool(taxonomy.remove_label, ctx.ws, dataset_id, path, actor)
    if action == "import":
        source = ctx.path(str(body.get("file") or ""))
        return await run_in_threadpool(
            taxonomy.import_taxonomy, ctx.ws, dataset_id, source, actor, bool(body.get("replace"))
        )
    raise StudioError("action must be add, rename, move, merge, remove or import")


async def team_view(request: Request, ctx: StudioContext) -> Any:
    dataset_id = _dataset(request)
    return {
        "assignments": await run_in_threadpool(team.list_assignments, ctx.ws, dataset_id),
        "agreement": await run_in_threadpool(team.agreement, ctx.ws, dataset_id),
    }


async def add_assignment(request: Request, ctx: StudioContext) -> Any:
    body = await _body(request)

    def number(name: str) -> int | None:
        value = body.get(name)
        return int(value) if value not in (None, "") else None

    return await run_in_threadpool(
        lambda: team.assign(
            ctx.ws,
            _dataset(request),
            str(body.get("reviewer") or ""),
            label_scope=body.get("label_scope") or None,
            range_start=number("range_start"),
            range_end=number("range_end"),
        )
    )


async def remove_assignment(request: Request, ctx: StudioContext) -> Any:
    await run_in_threadpool(team.unassign, ctx.ws, _dataset(request), int(request.path_params["assignment"]))
    return {"ok": True}


async def validate(request: Request, ctx: StudioContext) -> Any:
    fmt = request.query_params.get("format") or None
    return await run_in_threadpool(publish.validate_dataset, ctx.ws, _dataset(request), fmt)


async def export(request: Request, ctx: StudioContext) -> Any:
    body = await _body(request)
    dataset_id = _dataset(request)
    info = await run_in_threadpool(operations.get_dataset, ctx.ws, dataset_id)
    fmt = str(body.get("format") or info.format)
    key = f"{dataset_id}-v{info.version}-{fmt}-{int(time.time() * 1000)}"
    out_dir = ctx.exports_dir / key
    file_types = body.get("file_types") or ["jsonl"]
    summary = await run_in_threadpool(
        lambda: publish.export_reviewed(
            ctx.ws, dataset_id, out_dir, fmt=fmt, file_types=file_types, split=body.get("split") or "keep"
        )
    )
    ctx.exports[key] = out_dir
    return {**summary.model_dump(mode="json"), "download": f"/api/exports/{key}.zip"}


async def download(request: Request, ctx: StudioContext) -> Any:
    key = request.path_params["key"]
    folder = ctx.exports.get(key) or (ctx.exports_dir / key)
    if "/" in key or ".." in key or not folder.is_dir():
        raise NotFound(f"no export {key!r}; export again")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    buffer.seek(0)
    headers = {"Content-Disposition": f'attachment; filename="ftds-{key}.zip"'}
    return StreamingResponse(buffer, media_type="application/zip", headers=headers)


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


def create_studio_app(ws: Workspace, roots: list[Path], exports_dir: Path, runs_dir: Path | None = None) -> Starlette:
    """The ASGI app (without the network guard: see :func:`guarded_app`)."""
    ctx = StudioContext(ws=ws, roots=roots, exports_dir=exports_dir, runs_dir=runs_dir)
    d = "/api/datasets/{dataset:int}"
    table: list[tuple[str, Handler, list[str]]] = [
        ("/api/datasets", list_datasets, ["GET"]),
        ("/api/datasets/import", import_dataset, ["POST"]),
        (d, get_dataset, ["GET"]),
        (f"{d}/sync", sync_dataset, ["POST"]),
        (f"{d}/samples", list_samples, ["GET"]),
        (f"{d}/facets", facets, ["GET"]),
        (f"{d}/samples/{{sample}}", get_sample, ["GET"]),
        (f"{d}/samples/{{sample}}", update_sample, ["PATCH"]),
        (f"{d}/samples/{{sample}}/decision", decide, ["POST"]),
        (f"{d}/samples/{{sample}}/rescue", rescue, ["POST"]),
        (f"{d}/undo", undo, ["POST"]),
        (f"{d}/history", history, ["GET"]),
        (f"{d}/bulk/preview", bulk_preview, ["POST"]),
        (f"{d}/bulk/apply", bulk_apply, ["POST"]),
        (f"{d}/labels", labels, ["GET"]),
        (f"{d}/labels", edit_labels, ["POST"]),
        (f"{d}/team", team_view, ["GET"]),
        (f"{d}/assignments", add_assignment, ["POST"]),
        (f"{d}/assignments/{{assignment:int}}", remove_assignment, ["DELETE"]),
        (f"{d}/validate", validate, ["GET"]),
        (f"{d}/export", export, ["POST"]),
        ("/api/exports/{key}.zip", download, ["GET"]),
    ]
    routes: list[Route | Mount] = [_route(path, handler, ctx, methods) for path, handler, methods in table]
    routes += [Route("/", index), Mount("/static", StaticFiles(directory=STATIC), name="static")]
    app = Starlette(routes=routes)
    app.state.ctx = ctx
    return app


def clear_exports(exports_dir: Path) -> None:
    shutil.rmtree(exports_dir, ignore_errors=True)
