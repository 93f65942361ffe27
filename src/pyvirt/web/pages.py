"""Rendering helpers shared by the routes: templates, flashes, errors, redirects."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

import pyvirt
from pyvirt import errors as verr

from .auth import Forbidden, csrf_token, require_writer, session_user
from .workspace import workspace_of

LOG = logging.getLogger("pyvirt.web")
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

NOT_FOUND_CODES = {verr.VIR_ERR_NO_DOMAIN, verr.VIR_ERR_NO_NETWORK,
                   verr.VIR_ERR_NO_STORAGE_POOL, verr.VIR_ERR_NO_STORAGE_VOL,
                   verr.VIR_ERR_NO_DOMAIN_SNAPSHOT}


def human_bytes(value: float) -> str:
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    size = float(value)
    for unit in units:
        if abs(size) < 1024 or unit == units[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1024
    return f"{value} B"


templates.env.filters["q"] = lambda value: quote(str(value), safe="")
templates.env.filters["bytes"] = human_bytes


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    app = request.app
    user = session_user(request, app.state.users)
    hosts = workspace_of(request).hosts if user else []
    context.update(user=user, can_write=bool(user and user.can_write),
                   may=lambda permission, obj=None: bool(user and user.may(permission, obj)),
                   csrf=csrf_token(request) if user else "",
                   hosts=hosts, flashes=request.session.pop("flashes", []),
                   daemon_mode=app.state.logins is not None,
                   request=request)
    return templates.TemplateResponse(request, template, context, status_code=status)


def flash(request: Request, kind: str, message: str) -> None:
    request.session.setdefault("flashes", []).append([kind, message])
    request.session["flashes"] = request.session["flashes"]   # mark modified


def error_page(request: Request, message: str, status: int) -> Response:
    return render(request, "error.html", status=status, message=message,
                  back=_same_site_referer(request))


def _same_site_referer(request: Request) -> str:
    """The page the user came from, when it is one of ours; else the hosts page."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.headers.get("host") or not referer.path.startswith("/"):
        return "/"
    if referer.path == request.url.path and request.method == "GET":
        return "/"
    return referer.path + (f"?{referer.query}" if referer.query else "")


def libvirt_status(err: pyvirt.libvirtError) -> int:
    return 404 if err.get_error_code() in NOT_FOUND_CODES else 500


def explain_refusal(err: pyvirt.libvirtError, user: Any, what: str) -> str:
    """libvirt's message, and for the daemon's access refusal (which never says why)
    who was refused what."""
    if err.get_error_code() != verr.VIR_ERR_ACCESS_DENIED:
        return str(err)
    return f"{err} (the daemon's access rules do not let '{user.name}' {what})"


async def act(request: Request, what: str, func: Callable[..., Any], *args: Any,
              back: str) -> Response:
    """Check the user may change things, run ``func`` in a thread, flash, redirect."""
    user = await require_writer(request, request.app.state.users, what)
    try:
        result = await run_in_threadpool(func, *args)
    except pyvirt.libvirtError as err:
        flash(request, "error", explain_refusal(err, user, what))
    except ValueError as err:
        flash(request, "error", str(err))
    else:
        if isinstance(result, tuple):
            for message in result[0]:
                flash(request, "ok", message)
            for message in result[1]:
                flash(request, "error", message)
        else:
            flash(request, "ok", str(result))
    return RedirectResponse(back, status_code=303)


async def form_dict(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def forbid(message: str) -> None:
    raise Forbidden(message)
