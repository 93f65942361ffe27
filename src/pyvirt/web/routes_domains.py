"""Routes for hosts and domains: overview, VM list, VM page, XML editor, wizard."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

import pyvirt

from . import actions, views
from .auth import require_user, require_writer
from .pages import act, error_page, flash, form_dict, render
from .workspace import workspace_of


def _host(request: Request):
    return workspace_of(request).hosts.get(request.path_params["host"])


def _dom_url(request: Request, name: str) -> str:
    return f"/hosts/{request.path_params['host']}/domains/{quote(name, safe='')}"


async def hosts_page(request: Request) -> Response:
    require_user(request, request.app.state.users)
    rows = [await run_in_threadpool(views.host_summary, host)
            for host in workspace_of(request).hosts]
    return render(request, "hosts.html", rows=rows)


async def host_page(request: Request) -> Response:
    require_user(request, request.app.state.users)
    host = _host(request)
    overview = await run_in_threadpool(lambda: views.host_overview(host.conn))
    return render(request, "host.html", host=host, overview=overview)


async def domains_page(request: Request) -> Response:
    require_user(request, request.app.state.users)
    host = _host(request)
    query = request.query_params.get("q", "")
    state = request.query_params.get("state", "")
    rows = await run_in_threadpool(lambda: views.domain_rows(host.conn, query, state))
    return render(request, "domains.html", host=host, rows=rows, query=query, state=state)


async def domains_bulk(request: Request) -> Response:
    host = _host(request)
    form = await request.form()
    names = [n for n in form.getlist("names") if isinstance(n, str)]
    action = str(form.get("action", ""))
    return await act(request, f"{action} domains", actions.bulk_action, host.conn, names,
                     action, back=f"/hosts/{host.index}/domains")


async def domain_page(request: Request) -> Response:
    user = require_user(request, request.app.state.users)
    host = _host(request)
    name = request.path_params["name"]

    def gather():
        dom = host.conn.lookupByName(name)
        return (views.domain_details(dom), views.snapshot_tree(dom),
                views.guest_choices(host.conn))

    details, snapshots, choices = await run_in_threadpool(gather)
    offered = [action for action, permission in actions.DOMAIN_ACTION_PERMISSIONS.items()
               if user.may(permission, name)]
    return render(request, "domain.html", host=host, dom=details, snapshots=snapshots,
                  actions=actions.DOMAIN_ACTIONS, choices=choices, offered=offered)


async def domain_action(request: Request) -> Response:
    host = _host(request)
    name, action = request.path_params["name"], request.path_params["action"]
    back = f"/hosts/{host.index}/domains" if action == "undefine" else _dom_url(request, name)
    if action not in actions.DOMAIN_ACTIONS:
        return error_page(request, f"unknown domain action '{action}'", 404)
    return await act(request, f"{action} domain '{name}'", actions.domain_action, host.conn,
                     name, action, back=back)


async def snapshot_create(request: Request) -> Response:
    host = _host(request)
    name = request.path_params["name"]
    form = await form_dict(request)
    return await act(request, f"snapshot domain '{name}'", actions.snapshot_create, host.conn,
                     name, form.get("snap_name", ""), form.get("description", ""),
                     back=_dom_url(request, name))


async def snapshot_action(request: Request) -> Response:
    host = _host(request)
    name, snap = request.path_params["name"], request.path_params["snap"]
    func = {"revert": actions.snapshot_revert,
            "delete": actions.snapshot_delete}.get(request.path_params["action"])
    if func is None:
        return error_page(request, "unknown snapshot action", 404)
    return await act(request, f"change snapshots of domain '{name}'", func, host.conn, name,
                     snap, back=_dom_url(request, name))


async def device_attach(request: Request) -> Response:
    host = _host(request)
    name, kind = request.path_params["name"], request.path_params["kind"]
    func = {"disk": actions.disk_attach, "interface": actions.nic_attach}.get(kind)
    if func is None:
        return error_page(request, f"unknown device kind '{kind}'", 404)
    form = await form_dict(request)
    return await act(request, f"change devices of domain '{name}'", func, host.conn, name,
                     form, back=_dom_url(request, name))


async def device_detach(request: Request) -> Response:
    host = _host(request)
    name = request.path_params["name"]
    return await act(request, f"change devices of domain '{name}'", actions.device_detach,
                     host.conn, name, request.path_params["kind"], request.path_params["key"],
                     back=_dom_url(request, name))


async def xml_page(request: Request) -> Response:
    require_user(request, request.app.state.users)
    host = _host(request)
    name = request.path_params["name"]
    xml = await run_in_threadpool(
        lambda: host.conn.lookupByName(name).XMLDesc(pyvirt.VIR_DOMAIN_XML_INACTIVE))
    return render(request, "xml.html", host=host, name=name, xml=xml, diff=None, error=None)


async def xml_preview(request: Request) -> Response:
    """Show the diff against the saved definition (and any XML error) before saving."""
    require_user(request, request.app.state.users)
    host = _host(request)
    name = request.path_params["name"]
    edited = (await form_dict(request)).get("xml", "")

    def gather():
        saved = host.conn.lookupByName(name).XMLDesc(pyvirt.VIR_DOMAIN_XML_INACTIVE)
        try:
            actions.check_well_formed(edited)
            problem = None
        except pyvirt.libvirtError as err:
            problem = str(err)
        return saved, problem

    saved, problem = await run_in_threadpool(gather)
    return render(request, "xml.html", host=host, name=name, xml=edited,
                  diff=views.xml_diff(saved, edited, name), error=problem,
                  status=200 if problem is None else 400)


async def xml_save(request: Request) -> Response:
    host = _host(request)
    name = request.path_params["name"]
    edited = (await form_dict(request)).get("xml", "")
    await require_writer(request, request.app.state.users, f"redefine domain '{name}'")
    try:
        message = await run_in_threadpool(actions.domain_save_xml, host.conn, name, edited)
    except (pyvirt.libvirtError, ValueError) as err:
        saved = await run_in_threadpool(
            lambda: host.conn.lookupByName(name).XMLDesc(pyvirt.VIR_DOMAIN_XML_INACTIVE))
        return render(request, "xml.html", host=host, name=name, xml=edited,
                      diff=views.xml_diff(saved, edited, name), error=str(err), status=400)
    flash(request, "ok", message)
    return RedirectResponse(_dom_url(request, name), status_code=303)


async def wizard_page(request: Request) -> Response:
    require_user(request, request.app.state.users)
    host = _host(request)
    choices = await run_in_threadpool(lambda: views.guest_choices(host.conn))
    return render(request, "wizard.html", host=host, choices=choices, form={}, error=None)


async def wizard_create(request: Request) -> Response:
    """Create the VM, or show the wizard again with the values and the error."""
    host = _host(request)
    form = await form_dict(request)
    await require_writer(request, request.app.state.users, "create domains")
    try:
        message = await run_in_threadpool(actions.create_guest, host.conn, form)
    except (pyvirt.libvirtError, ValueError) as err:
        choices = await run_in_threadpool(lambda: views.guest_choices(host.conn))
        return render(request, "wizard.html", status=400, host=host, choices=choices,
                      form=form, error=str(err))
    flash(request, "ok", message)
    return RedirectResponse(_dom_url(request, form.get("name", "").strip()), status_code=303)


ROUTES = [
    Route("/", hosts_page),
    Route("/hosts/{host}", host_page),
    Route("/hosts/{host}/domains", domains_page),
    Route("/hosts/{host}/domains/bulk", domains_bulk, methods=["POST"]),
    Route("/hosts/{host}/domains/new", wizard_page),
    Route("/hosts/{host}/domains/new", wizard_create, methods=["POST"]),
    Route("/hosts/{host}/domains/{name}", domain_page),
    Route("/hosts/{host}/domains/{name}/action/{action}", domain_action, methods=["POST"]),
    Route("/hosts/{host}/domains/{name}/snapshots", snapshot_create, methods=["POST"]),
    Route("/hosts/{host}/domains/{name}/snapshots/{snap}/{action}", snapshot_action,
          methods=["POST"]),
    Route("/hosts/{host}/domains/{name}/devices/{kind}", device_attach, methods=["POST"]),
    Route("/hosts/{host}/domains/{name}/devices/{kind}/{key}/detach", device_detach,
          methods=["POST"]),
    Route("/hosts/{host}/domains/{name}/xml", xml_page),
    Route("/hosts/{host}/domains/{name}/xml/preview", xml_preview, methods=["POST"]),
    Route("/hosts/{host}/domains/{name}/xml/save", xml_save, methods=["POST"]),
]
