"""Who is asking: the session's user, CSRF tokens, and the role checks.

Sessions are Starlette's signed cookies (``request.session``): ``user`` holds
the login name, ``csrf`` a random token every mutating request must echo
(form field ``csrf`` or header ``X-CSRF-Token``), and in daemon mode ``sid``
names the login whose connections the session uses (kept in memory only).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request


class NotLoggedIn(Exception):
    """No (valid) session: the page redirects to the login form."""


class Forbidden(Exception):
    """The user may not do this; the message says why."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def csrf_token(conn: HTTPConnection) -> str:
    token = conn.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        conn.session["csrf"] = token
    return token


def session_user(conn: HTTPConnection, users: Any) -> Any:
    """The logged-in user: from the users file's entries (removed = logged out) or,
    in daemon mode, the session's live login (expired or logged out = None)."""
    return users.user_of(conn.session)


def log_in(request: Request, user: Any, sid: str | None = None) -> None:
    request.session.clear()
    request.session["user"] = user.name
    if sid is not None:
        request.session["sid"] = sid           # daemon mode: the login's connections
    request.session["csrf"] = secrets.token_urlsafe(32)


def log_out(request: Request) -> None:
    request.session.clear()


def require_user(conn: HTTPConnection, users: Any) -> Any:
    user = session_user(conn, users)
    if user is None:
        raise NotLoggedIn()
    return user


async def require_writer(request: Request, users: Any, what: str) -> Any:
    """A user with a valid CSRF token who may change things, or Forbidden naming
    ``what`` was refused. Daemon users pass: the daemon checks each call itself."""
    user = require_user(request, users)
    await check_csrf(request)
    if user.enforced_here and not user.can_write:
        raise Forbidden(f"operation forbidden: user '{user.name}' has read-only access "
                        f"and may not {what}")
    return user


def require_may(user: Any, permission: str, obj: str | None, what: str) -> None:
    """Forbidden unless ``user`` may use ``permission`` on ``obj`` (for what this
    server does itself, such as connecting to a VNC display)."""
    if user.may(permission, obj):
        return
    if user.enforced_here:
        raise Forbidden(f"operation forbidden: user '{user.name}' has read-only access "
                        f"and may not {what}")
    raise Forbidden(f"operation forbidden: the access rules do not let '{user.name}' {what}")


async def check_csrf(request: Request) -> None:
    expected = request.session.get("csrf")
    given = request.headers.get("x-csrf-token")
    if given is None:
        form = await request.form()
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(given, expected):
        raise Forbidden("invalid or missing CSRF token: reload the page and try again")


def same_origin(conn: HTTPConnection) -> bool:
    """A WebSocket's Origin (when sent) must name this server's host."""
    origin = conn.headers.get("origin")
    if not origin:
        return True
    return urlsplit(origin).netloc == conn.headers.get("host", "")
