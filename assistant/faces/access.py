"""Who may use the HTTP faces: with a token set, every route but `/health` needs it, the chat page included.

    app.add_middleware(TokenGuard, token="SECRET")   # `assistant.faces.server.build_api` does this for --token

A request passes with `Authorization: Bearer SECRET` (the scheme in any letter case) or with the cookie that the
login page sets. A browser that opens a page without either gets that login page (a form posting the token to
`/token-login`); the cookie it then gets is HttpOnly, SameSite=Strict and holds a keyed hash of the token, never
the token itself. Any other request gets 401 in OpenAI's error shape. `/health` stays open for liveness probes.
The guard is plain ASGI, so it covers the API, Gradio's routes (`/gradio_api/*`, uploads, `/config`), the page
assets and `/openapi.json` alike, streaming or not.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse

OPEN_PATHS = ("/health",)
LOGIN_PATH = "/token-login"
COOKIE = "shopguide_token"
MAX_LOGIN_BYTES = 4096
LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>shopguide: sign in</title>
<style>body{{font-family:system-ui,sans-serif;max-width:22rem;margin:15vh auto;padding:0 1rem}}
input,button{{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;margin-top:.5rem}}
.err{{color:#b00020}}</style></head>
<body><h2>shopguide</h2><p>This assistant needs its access token.</p>{error}
<form method="post" action="{action}"><input type="password" name="token" placeholder="token" autofocus
 autocomplete="current-password" aria-label="token"><button type="submit">Open the chat</button></form>
</body></html>
"""


def bearer_token(authorization: str) -> str | None:
    """The credentials of an `Authorization: Bearer ...` header (scheme matched in any case), or None."""
    scheme, _, value = authorization.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class TokenGuard:
    """ASGI middleware: lets a request through when it carries the token (header or login cookie).

    Args:
        app: the ASGI app to guard.
        token: the secret every request but `OPEN_PATHS` must present.
    """

    def __init__(self, app: Any, token: str):
        self.app = app
        self._token = token.encode()
        self._cookie = hmac.new(self._token, b"shopguide page login", hashlib.sha256).hexdigest()

    def allowed(self, conn: HTTPConnection) -> bool:
        """True when `conn` presents the token as a bearer header or the login cookie."""
        given = bearer_token(conn.headers.get("authorization", ""))
        if given is not None and secrets.compare_digest(given.encode(), self._token):
            return True
        return secrets.compare_digest(conn.cookies.get(COOKIE, "").encode(), self._cookie.encode())

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        conn = HTTPConnection(scope)
        if scope["type"] == "http" and scope["path"] == LOGIN_PATH:
            return await self._login(scope, receive, send)
        if self.allowed(conn):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        if scope["method"] == "GET" and "text/html" in conn.headers.get("accept", ""):
            response: Any = self._page(status=401)
        else:
            body = {"message": "missing or wrong bearer token", "type": "authentication_error"}
            response = JSONResponse({"error": {**body, "param": None, "code": None}}, status_code=401)
        await response(scope, receive, send)

    async def _login(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["method"] != "POST":
            return await self._page(status=200)(scope, receive, send)
        raw, more = b"", True
        while more and len(raw) <= MAX_LOGIN_BYTES:
            message = await receive()
            raw += message.get("body", b"")
            more = message.get("more_body", False)
        given = (parse_qs(raw.decode("utf-8", "replace")).get("token") or [""])[0] if not more else ""
        if not secrets.compare_digest(given.encode(), self._token):
            return await self._page(status=401, error="Wrong token.")(scope, receive, send)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE, self._cookie, httponly=True, samesite="strict", secure=scope.get("scheme") == "https", path="/"
        )
        await response(scope, receive, send)

    def _page(self, status: int, error: str = "") -> HTMLResponse:
        note = f'<p class="err">{error}</p>' if error else ""  # a fixed string, never request text
        return HTMLResponse(LOGIN_PAGE.format(error=note, action=LOGIN_PATH), status_code=status)
