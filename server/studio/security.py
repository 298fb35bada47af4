"""Who may talk to the studio: loopback by default; beyond loopback only with a token (as the MCP HTTP
server, :mod:`ftds.server.http`). Browsers cannot add an Authorization header to a page load, so the token
also arrives once as ``?token=`` in the printed URL and is then kept in an HttpOnly cookie.

Two browser attacks are closed as well: another web page posting to the local port (every API call must
carry the ``X-Studio`` header, which a cross-site request cannot send without a CORS preflight the studio
never grants) and DNS rebinding (the Host header must name the address the studio is bound to).
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs, urlencode

from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ftds.server.http import LOOPBACK, InsecureBindError

COOKIE = "ftds_studio_token"
API_HEADER = b"x-studio"


def check_bind(host: str, token: str) -> None:
    if host not in LOOPBACK and not token:
        raise InsecureBindError(
            f"refusing to serve the studio on {host} without a token: set the token variable "
            "(FTDS_MCP_TOKEN by default, server.token_env) or bind 127.0.0.1"
        )


class StudioGuard:
    def __init__(self, app: ASGIApp, host: str, port: int, token: str) -> None:
        self.app = app
        self.token = token
        self.hosts = {f"{h}:{port}".encode() for h in (*LOOPBACK, host)} | {h.encode() for h in (*LOOPBACK, host)}
        self.hosts |= {f"[::1]:{port}".encode()}
        self.any_host = host in ("0.0.0.0", "::")

    def _authorised(self, headers: dict[bytes, bytes]) -> bool:
        if not self.token:
            return True
        bearer = headers.get(b"authorization", b"")
        if hmac.compare_digest(bearer, f"Bearer {self.token}".encode()):
            return True
        for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and hmac.compare_digest(value.encode(), self.token.encode()):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if not self.any_host and headers.get(b"host", b"") not in self.hosts:
            await JSONResponse({"error": "unknown Host header"}, status_code=421)(scope, receive, send)
            return
        path: str = scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode())
        supplied = (query.get("token") or [""])[0]
        if self.token and supplied and hmac.compare_digest(supplied.encode(), self.token.encode()):
            rest = urlencode({k: v[0] for k, v in query.items() if k != "token"})
            response = RedirectResponse(path + (f"?{rest}" if rest else ""), status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
            await response(scope, receive, send)
            return
        if not self._authorised(headers):
            message = (
                "unauthorized: open the URL with ?token=... that ftds-agent studio printed, or send a Bearer token"
            )
            await JSONResponse({"error": message}, status_code=401)(scope, receive, send)
            return
        if path.startswith("/api/") and scope["method"] != "GET" and API_HEADER not in headers:
            await JSONResponse({"error": "API calls need the X-Studio header"}, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)
