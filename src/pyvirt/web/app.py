"""The ASGI application: ``create_app(WebConfig)`` wires routes, sessions and errors."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import pyvirt

from . import realtime, routes_domains, routes_infra, vnc
from .auth import (Forbidden, NotLoggedIn, check_csrf, log_in, log_out, require_may,
                   require_user, session_user)
from .daemon_login import DaemonLogins, LoginFailed
from .hosts import HostList, UnknownHost
from .pages import HERE, LOG, error_page, libvirt_status, render
from .security import SecurityHeaders
from .users import UserStore
from .workspace import Workspace, workspace_of

SESSION_COOKIE = "pyvirt_session"


@dataclass
class WebConfig:
    """``users`` (users-file mode, local URIs) or ``logins`` (daemon mode: the
    daemon authenticates each user and its access rules decide)."""

    uris: list[str]
    users: UserStore | None = None
    logins: DaemonLogins | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    https_only: bool = False
    stats_interval: float = 1.0
    session_max_age: int = 12 * 3600


def _safe_next(target: str | None) -> str:
    """Only same-site paths may follow a login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


async def login_page(request: Request) -> Response:
    if session_user(request, request.app.state.users) is not None:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", next=_safe_next(request.query_params.get("next")),
                  error=None, username="")


async def login_submit(request: Request) -> Response:
    form = await request.form()
    name, password = str(form.get("username", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "/")))
    logins = request.app.state.logins
    if logins is not None:
        try:
            sid, user = await run_in_threadpool(logins.login, name, password)
        except LoginFailed as err:
            return render(request, "login.html", status=401, next=target, error=str(err),
                          username=name)
        logins.logout(request.session)          # a login replaces the session's old one
        log_in(request, user, sid)
        return RedirectResponse(target, status_code=303)
    user = request.app.state.users.authenticate(name, password)
    if user is None:
        return render(request, "login.html", status=401, next=target, username=name,
                      error="Login failed: unknown user or wrong password")
    log_in(request, user)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    if session_user(request, request.app.state.users) is None:
        return RedirectResponse("/login", status_code=303)      # already logged out
    await check_csrf(request)
    if request.app.state.logins is not None:
        await run_in_threadpool(request.app.state.logins.logout, request.session)
    log_out(request)
    return RedirectResponse("/login", status_code=303)


async def _not_logged_in(request: Request, _exc: Exception) -> Response:
    if request.method != "GET":
        return error_page(request, "not logged in: log in first", 401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    return error_page(request, str(exc), exc.status)


async def _unknown_host(request: Request, exc: Exception) -> Response:
    return error_page(request, str(exc), 404)


async def _libvirt_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, pyvirt.libvirtError)
    return error_page(request, str(exc), libvirt_status(exc))


async def _unexpected(request: Request, exc: Exception) -> Response:
    LOG.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_page(request, f"internal error: {type(exc).__name__}: {exc}", 500)


def create_app(config: WebConfig) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        if app.state.logins is not None:
            app.state.logins.close_all()
        else:
            app.state.workspace.close()

    routes = [
        Route("/login", login_page),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        *routes_domains.ROUTES, *routes_infra.ROUTES, *realtime.ROUTES,
        Route("/hosts/{host}/domains/{name}/console", console_page),
        Route("/hosts/{host}/domains/{name}/vnc", vnc_page),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [Middleware(SecurityHeaders),
                  Middleware(SessionMiddleware, secret_key=config.secret_key,
                             session_cookie=SESSION_COOKIE, https_only=config.https_only,
                             same_site="strict", max_age=config.session_max_age)]
    handlers = {NotLoggedIn: _not_logged_in, Forbidden: _forbidden, UnknownHost: _unknown_host,
                pyvirt.libvirtError: _libvirt_error, Exception: _unexpected}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers,
                    lifespan=lifespan)
    if (config.users is None) == (config.logins is None):
        raise ValueError("give the manager either a users file or daemon logins")
    app.state.config = config
    app.state.logins = config.logins
    app.state.users = config.logins if config.logins is not None else config.users
    app.state.workspace = Workspace(HostList(config.uris)) if config.logins is None else None
    app.state.stats_interval = config.stats_interval
    return app


async def console_page(request: Request) -> Response:
    user = require_user(request, request.app.state.users)
    name = request.path_params["name"]
    require_may(user, "domain:open_device", name, "use consoles")
    host = workspace_of(request).hosts.get(request.path_params["host"])
    return render(request, "console.html", host=host, name=name,
                  vendor_ok=(HERE / "static" / "vendor" / "xterm" / "xterm.js").exists())


async def vnc_page(request: Request) -> Response:
    """The noVNC viewer, or why this domain's display cannot be reached."""
    user = require_user(request, request.app.state.users)
    name = request.path_params["name"]
    require_may(user, "domain:open_graphics", name, "use consoles")
    host = workspace_of(request).hosts.get(request.path_params["host"])
    xml = await run_in_threadpool(lambda: host.conn.lookupByName(name).XMLDesc(0))
    try:
        problem = None
        vnc.vnc_target(host.uri, xml)
    except pyvirt.libvirtError as err:
        problem = str(err)
    return render(request, "vnc.html", host=host, name=name, problem=problem,
                  vendor_ok=(HERE / "static" / "vendor" / "novnc" / "core" / "rfb.js").exists())
