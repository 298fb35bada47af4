"""``ftds-agent studio``: the review studio, a local web app over a workspace database."""

from __future__ import annotations

import json
import socket
import sys
import threading
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from ftds.agents.cli_common import ConfigOpt, JsonOpt, app, fail, settings_from
from ftds.agents.exit_codes import EXIT_FATAL, EXIT_USAGE
from ftds.tools.text_safety import printable

DEFAULT_WORKSPACE = Path("ftds-studio")


@app.command()
def studio(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Build output folders or dataset files to import (or re-read) before serving."),
    ] = None,
    workspace: Annotated[
        str,
        typer.Option(help="Workspace folder (one SQLite file inside) or a database URL (postgresql+psycopg://...)."),
    ] = str(DEFAULT_WORKSPACE),
    host: Annotated[str, typer.Option(help="Bind address; beyond loopback a token is required.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8765,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="Column mapping for dataset files: target=source (repeatable).")
    ] = None,
    docs: Annotated[
        list[Path] | None,
        typer.Option("--docs", help="The build's input documents (folder or files): the sample view shows passages."),
    ] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser.")] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Review, fix and export datasets in the browser: import builds or files, then serve the studio."""
    import uvicorn

    from ftds.server.http import InsecureBindError
    from ftds.server.studio.serve import studio_asgi, studio_url
    from ftds.tools.studio import importing, operations
    from ftds.tools.studio.models import StudioError
    from ftds.tools.studio.store import open_workspace

    settings = settings_from(config)
    columns: dict[str, str] = {}
    for pair in mapping or []:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise fail(f"--map {pair!r} is not target=source, e.g. --map instruction=question")
        columns[target.strip()] = source.strip()
    try:
        ws = open_workspace(workspace)
    except ValueError as exc:
        raise fail(str(exc), EXIT_FATAL) from None
    imported: list[dict[str, object]] = []
    known = {Path(d.source).resolve(): d for d in operations.list_datasets(ws) if d.source}
    for path in paths or []:
        if not path.exists():
            raise fail(f"{path} does not exist; pass a build output folder or a dataset file", EXIT_USAGE)
        try:
            existing = known.get(path.resolve())
            if existing is not None and path.is_dir():
                result = importing.sync_build(ws, existing.id, settings.runs_dir, docs or [])
            elif existing is not None:
                imported.append({"path": str(path), "dataset": existing.name, "added": 0, "errors": []})
                continue
            else:
                result = importing.import_path(
                    ws, path, mapping=columns, documents=docs or [], runs_dir=settings.runs_dir
                )
        except StudioError as exc:
            raise fail(printable(f"{path}: {exc}"), EXIT_USAGE) from None
        imported.append(
            {"path": str(path), "dataset": result.dataset.name, "added": result.added, "errors": result.errors}
        )
        if not as_json:
            typer.echo(printable(f"{result.dataset.name}: {result.added} new sample(s) from {path}"), err=True)
            for error in result.errors[:5]:
                typer.echo(printable(f"  skipped: {error}"), err=True)
    workspace_dir = Path(workspace) if "://" not in workspace else Path.cwd() / DEFAULT_WORKSPACE
    roots = list(dict.fromkeys([Path.cwd().resolve(), *(p.resolve().parent for p in paths or [])]))
    try:
        asgi, token = studio_asgi(
            ws,
            roots,
            workspace_dir.resolve() / "exports",
            host=host,
            port=port,
            token_env=settings.server.token_env,
            runs_dir=settings.runs_dir,
        )
    except InsecureBindError as exc:
        raise fail(str(exc.code), EXIT_USAGE) from None
    try:  # a clear sentence now rather than uvicorn's log line after start-up
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pass another --port", EXIT_USAGE) from None
    url = studio_url(host, port, token)
    if as_json:
        typer.echo(json.dumps({"url": url, "workspace": workspace, "imported": imported}, ensure_ascii=False))
    else:
        typer.echo(f"ftds studio: {url}  (Ctrl+C stops it)", err=True)
    if not no_browser and sys.stdout.isatty():
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(asgi, host=host, port=port, log_level="warning")
