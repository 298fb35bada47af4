"""Serve the studio: the app behind its network guard, on the address asked (loopback by default)."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.types import ASGIApp

from ftds.server.studio.app import create_studio_app
from ftds.server.studio.security import StudioGuard, check_bind
from ftds.tools.studio.store import Workspace


def studio_asgi(
    ws: Workspace,
    roots: list[Path],
    exports_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token_env: str = "FTDS_MCP_TOKEN",
    runs_dir: Path | None = None,
) -> tuple[ASGIApp, str]:
    """The guarded ASGI app and the token in force ('' on loopback without one). Refuses (SystemExit with
    the reason) to bind beyond loopback without a token, as the MCP HTTP server does."""
    token = os.environ.get(token_env, "")
    check_bind(host, token)
    app = create_studio_app(ws, roots, exports_dir, runs_dir)
    return StudioGuard(app, host, port, token), token


def studio_url(host: str, port: int, token: str) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
