"""Streamable HTTP serving: loopback by default, a bearer token when one is configured.

The token comes from the environment variable that ``server.token_env`` names (never from a config file or
a flag, so it stays out of shell history and config dumps). Binding anything but loopback without a token is
refused: an MCP server that can read and write files must not be open to a network by accident.
"""

from __future__ import annotations

import hmac
import os

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ftds.server.limits import MAX_REQUEST_BYTES

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class BearerTokenMiddleware:
    """Reject HTTP requests whose ``Authorization`` header is not ``Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            supplied = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(supplied, self._expected):
                response = JSONResponse(
                    {"error": "unauthorized: send the header 'Authorization: Bearer <token>'"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuse an HTTP request body over ``limit`` bytes with 413, before the MCP layer buffers it: the
    per-argument bounds only apply once a request has been read whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _refusal(self, size: str) -> JSONResponse:
        message = (
            f"request body is {size} bytes; at most {self.limit:,} are accepted: send long documents as files "
            "inside the server's roots (load_literature) rather than as text"
        )
        return JSONResponse({"error": message}, status_code=413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refusal(f"{int(declared):,}")(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:  # a chunked body with no length: stop reading it
                raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await self._refusal(f"over {self.limit:,}")(scope, receive, send)


class BodyTooLarge(Exception):
    pass


class InsecureBindError(SystemExit):
    pass


def http_app(app: ASGIApp, host: str, token_env: str) -> ASGIApp:
    """Wrap ``app`` with the token check; refuse a non-loopback ``host`` that has no token."""
    token = os.environ.get(token_env, "")
    if host not in LOOPBACK and not token:
        raise InsecureBindError(
            f"refusing to serve MCP over HTTP on {host} without a bearer token: set {token_env} "
            "(clients then send 'Authorization: Bearer <token>'), or bind 127.0.0.1"
        )
    limited = BodyLimitMiddleware(app, MAX_REQUEST_BYTES)
    return BearerTokenMiddleware(limited, token) if token else limited
