"""Who is asking: the session's user, CSRF tokens, and the role checks.

Sessions are Starlette's signed cookies (``request.session``): ``user`` holds
the login name, ``csrf`` a random token every mutating request must echo
(form field ``csrf`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request

from .users import User, UserStore


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


def session_user(conn: HTTPConnection, users: UserStore) -> User | None:
    """The logged-in user, re-read from the users file's entries (removed = logged out)."""
    name = conn.session.get("user")
    return users.get(name) if isinstance(name, str) else None


def log_in(request: Request, user: User) -> None:
    request.session.clear()
    request.session["user"] = user.name
    request.session["csrf"] = secrets.token_urlsafe(32)


def log_out(request: Request) -> None:
    request.session.clear()


def require_user(conn: HTTPConnection, users: UserStore) -> User:
    user = session_user(conn, users)
    if user is None:
        raise NotLoggedIn()
    return user


async def require_writer(request: Request, users: UserStore, what: str) -> User:
    """An admin with a valid CSRF token, or Forbidden naming ``what`` was refused."""
    user = require_user(request, users)
    await check_csrf(request)
    if not user.can_write:
        raise Forbidden(f"operation forbidden: user '{user.name}' has read-only access "
                        f"and may not {what}")
    return user


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
