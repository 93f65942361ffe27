"""Routes for networks (list, create NAT/isolated, start/stop, leases) and storage."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import pyvirt

from . import actions, views
from .auth import require_user, require_writer
from .pages import act, error_page, flash, form_dict, render
from .workspace import workspace_of


def _host(request: Request):
    return workspace_of(request).hosts.get(request.path_params["host"])


async def networks_page(request: Request) -> Response:
    require_user(request, request.app.state.users)
    host = _host(request)
    rows = await run_in_threadpool(lambda: views.network_rows(host.conn))
    return render(request, "networks.html", host=host, rows=rows)


async def network_create(request: Request) -> Response:
    host = _host(request)
    form = await form_dict(request)
    return await act(request, "create networks", actions.network_create, host.conn, form,
                     back=f"/hosts/{host.index}/networks")


async def network_page(request: Request) -> Response:
    require_user(request, request.app.state.users)
    host = _host(request)
    name = request.path_params["name"]
    net = await run_in_threadpool(
        lambda: views.network_details(host.conn.networkLookupByName(name)))
    return render(request, "network.html", host=host, net=net)


async def network_action(request: Request) -> Response:
    host = _host(request)
    name, action = request.path_params["name"], request.path_params["action"]
    if action not in actions.NETWORK_ACTIONS:
        return error_page(request, f"unknown network action '{action}'", 404)
    back = (f"/hosts/{host.index}/networks" if action == "undefine"
            else f"/hosts/{host.index}/networks/{quote(name, safe='')}")
    return await act(request, f"{action} network '{name}'", actions.network_action,
                     host.conn, name, action, back=back)


async def storage_page(request: Request) -> Response:
    require_user(request, request.app.state.users)
    host = _host(request)
    rows = await run_in_threadpool(lambda: views.pool_rows(host.conn))
    return render(request, "storage.html", host=host, rows=rows)


async def pool_page(request: Request) -> Response:
    require_user(request, request.app.state.users)
    host = _host(request)
    name = request.path_params["pool"]

    def gather():
        pool = host.conn.storagePoolLookupByName(name)
        state, capacity, allocation, available = pool.info()
        return ({"name": name, "active": bool(pool.isActive()), "capacity": capacity,
                 "allocation": allocation, "available": available},
                views.volume_rows(pool))

    pool, volumes = await run_in_threadpool(gather)
    return render(request, "pool.html", host=host, pool=pool, volumes=volumes)


def _pool_url(request: Request) -> str:
    return (f"/hosts/{request.path_params['host']}/storage/"
            f"{quote(request.path_params['pool'], safe='')}")


async def pool_action(request: Request) -> Response:
    host = _host(request)
    name, action = request.path_params["pool"], request.path_params["action"]
    if action not in actions.POOL_ACTIONS:
        return error_page(request, f"unknown pool action '{action}'", 404)
    return await act(request, f"{action} pool '{name}'", actions.pool_action, host.conn,
                     name, action, back=_pool_url(request))


async def volume_create(request: Request) -> Response:
    host = _host(request)
    form = await form_dict(request)
    pool = request.path_params["pool"]
    return await act(request, "create volumes", actions.volume_create, host.conn, pool,
                     form, back=_pool_url(request))


async def volume_delete(request: Request) -> Response:
    host = _host(request)
    pool, vol = request.path_params["pool"], request.path_params["vol"]
    return await act(request, f"delete volume '{vol}'", actions.volume_delete, host.conn,
                     pool, vol, back=_pool_url(request))


async def volume_resize(request: Request) -> Response:
    host = _host(request)
    pool, vol = request.path_params["pool"], request.path_params["vol"]
    form = await form_dict(request)
    return await act(request, f"resize volume '{vol}'", actions.volume_resize, host.conn,
                     pool, vol, form, back=_pool_url(request))


async def volume_upload(request: Request) -> Response:
    """Stream the request body into the volume (``virStorageVolUpload``); answers JSON,
    for the page's XMLHttpRequest, which shows the upload's progress."""
    host = _host(request)
    pool_name, vol_name = request.path_params["pool"], request.path_params["vol"]
    await require_writer(request, request.app.state.users, f"upload to volume '{vol_name}'")
    length = int(request.headers.get("content-length") or 0)

    def begin():
        vol = host.conn.storagePoolLookupByName(pool_name).storageVolLookupByName(vol_name)
        stream = host.conn.newStream(0)
        vol.upload(stream, 0, length, 0)
        return stream

    stream = None
    sent = 0
    try:
        stream = await run_in_threadpool(begin)
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(stream.send, chunk)
                sent += len(chunk)
        await run_in_threadpool(stream.finish)
    except pyvirt.libvirtError as err:
        if stream is not None:
            await run_in_threadpool(stream.abort)
        return JSONResponse({"ok": False, "message": str(err)}, status_code=400)
    message = f"Uploaded {sent} bytes to volume '{vol_name}'"
    flash(request, "ok", message)
    return JSONResponse({"ok": True, "message": message, "bytes": sent})


ROUTES = [
    Route("/hosts/{host}/networks", networks_page),
    Route("/hosts/{host}/networks", network_create, methods=["POST"]),
    Route("/hosts/{host}/networks/{name}", network_page),
    Route("/hosts/{host}/networks/{name}/action/{action}", network_action, methods=["POST"]),
    Route("/hosts/{host}/storage", storage_page),
    Route("/hosts/{host}/storage/{pool}", pool_page),
    Route("/hosts/{host}/storage/{pool}/action/{action}", pool_action, methods=["POST"]),
    Route("/hosts/{host}/storage/{pool}/volumes", volume_create, methods=["POST"]),
    Route("/hosts/{host}/storage/{pool}/volumes/{vol}/delete", volume_delete,
          methods=["POST"]),
    Route("/hosts/{host}/storage/{pool}/volumes/{vol}/resize", volume_resize,
          methods=["POST"]),
    Route("/hosts/{host}/storage/{pool}/volumes/{vol}/upload", volume_upload,
          methods=["POST"]),
]
