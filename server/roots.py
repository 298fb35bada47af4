"""The client's MCP roots, when it declares them, take the place of the configured allow-list.

Roots are asked for once per tool call or resource read (the run resources are confined too) by a middleware
(a server-to-client request cannot be made from the synchronous path check) and handed to
:meth:`ServerState.path` through a context variable. A client that declares no roots — or a connection with
no back-channel for server-initiated requests, as in protocol 2026-07-28 where roots are deprecated — leaves
the configured roots in force.
"""

from __future__ import annotations

import warnings
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

client_roots: ContextVar[list[Path] | None] = ContextVar("ftds_client_roots", default=None)


async def fetch_client_roots(ctx: ServerRequestContext[Any, Any]) -> list[Path] | None:
    capabilities = ctx.session.client_capabilities
    if capabilities is None or getattr(capabilities, "roots", None) is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # roots are deprecated in 2026-07-28 but older clients send them
            result = await ctx.session.list_roots()
    except Exception:  # no back-channel, or the client failed: keep the configured roots
        return None
    paths = [Path(unquote(urlparse(str(root.uri)).path)) for root in result.roots if str(root.uri).startswith("file:")]
    return [path.resolve() for path in paths] or None


class ClientRootsMiddleware:
    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method not in ("tools/call", "resources/read"):
            return await call_next(ctx)
        token = client_roots.set(await fetch_client_roots(ctx))
        try:
            return await call_next(ctx)
        finally:
            client_roots.reset(token)
