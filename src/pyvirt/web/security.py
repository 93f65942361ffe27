"""Security headers on every HTTP response (an ASGI middleware).

No page has inline scripts, so the Content-Security-Policy allows scripts from
this origin only; WebSockets may go back to the page's own host.
"""

from __future__ import annotations

from typing import Any

STATIC_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


def content_security_policy(host: str) -> str:
    sockets = f" ws://{host} wss://{host}" if host else ""
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data:; connect-src 'self'{sockets}; frame-ancestors 'none'; "
            "base-uri 'self'; form-action 'self'")


class SecurityHeaders:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        is_static = scope.get("path", "").startswith("/static/")
        csp = content_security_policy(host).encode("latin-1")

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", [])
                           if not (is_static and h[0].lower() == b"cache-control")]
                extra = [h for h in STATIC_HEADERS if not (is_static and h[0] == b"cache-control")]
                message = {**message, "headers": headers + extra
                           + [(b"content-security-policy", csp)]}
            await send(message)

        await self.app(scope, receive, with_headers)
