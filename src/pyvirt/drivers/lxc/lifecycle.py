"""Container lifecycle: start, shutdown, destroy, reboot, suspend/resume, and
what happens when a container's init exits by itself.

Every function runs under the driver state's lock; lifecycle events are
queued on ``drv.events`` and delivered by the caller once the lock is free.
State changes go through :mod:`pyvirt.objects.lifecycle` where its table fits.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.lxc import definition, launcher, network, state_dir
from pyvirt.drivers.lxc.cgroup import ContainerCgroup, group_name
from pyvirt.drivers.lxc.spec import spec_from_def
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_OPERATION_INVALID, VIR_ERR_SYSTEM_ERROR, VIR_FROM_LXC,
    error, libvirtError,
)
from pyvirt.objects import lifecycle as sm
from pyvirt.objects import numbers as n
from pyvirt.objects.numbers import DomainEvent as E, DomainState as S

if TYPE_CHECKING:
    from pyvirt.drivers.lxc.state import LxcDriverState
    from pyvirt.objects.domain_obj import DomainObj

log = logging.getLogger(__name__)

#: seconds between SIGTERM to init (virDomainShutdown) and SIGKILL
SHUTDOWN_GRACE_S = 10.0


def not_running() -> libvirtError:
    return error(VIR_ERR_OPERATION_INVALID, "domain is not running", domain=VIR_FROM_LXC)


def require_active(dom: "DomainObj") -> None:
    if not dom.active:
        raise not_running()


def container_of(drv: "LxcDriverState", dom: "DomainObj") -> launcher.Container:
    """The running container of ``dom``, or libvirt's "not running" error."""
    ct = drv.containers.get(dom.uuid)
    if ct is None or not dom.active:
        raise not_running()
    return ct


def lifecycle_event(drv: "LxcDriverState", dom: "DomainObj", event: int, detail: int) -> None:
    drv.events.queue(n.EVENT_ID_LIFECYCLE, drv.ref(dom), int(event), int(detail))


# --- status ------------------------------------------------------------------------------
def save_status(drv: "LxcDriverState", dom: "DomainObj") -> None:
    ct = drv.containers.get(dom.uuid)
    if ct is None or dom.live_def is None:
        return
    state_dir.save_status(drv.dirs, dom.name, state_dir.StatusRecord(
        state=S(dom.state).name.lower(), reason=str(int(dom.reason)),
        controller_pid=ct.controller_pid, controller_start=ct.controller_start,
        init_pid=ct.init_pid, init_start=ct.init_start, cgroup=ct.cgroup.relpath,
        domain_xml=dom.live_def.to_xml(), veths=list(ct.veths)))


def state_from_record(rec: state_dir.StatusRecord) -> tuple[S, int]:
    try:
        state = S[rec.state.upper()]
    except KeyError:
        state = S.RUNNING
    return state, int(rec.reason) if rec.reason.isdigit() else 0


# --- start ---------------------------------------------------------------------------------
def _check_host_paths(spec: Any) -> None:
    for path in [spec.root] + [m.source for m in spec.mounts]:
        if not os.path.exists(path):
            raise error(VIR_ERR_SYSTEM_ERROR, f"Failed to access '{path}': No such file or "
                        "directory", domain=VIR_FROM_LXC)
    if not os.path.isdir(spec.root):
        raise error(VIR_ERR_SYSTEM_ERROR, f"Failed to access root filesystem '{spec.root}': "
                    "Not a directory", domain=VIR_FROM_LXC)


def _limits(live: Any):
    def apply(cg: ContainerCgroup) -> None:
        limit = definition.memory_limit_kib(live)
        if limit and cg.path("memory") is not None:
            cg.set_memory_limit(limit)
        shares, period, quota = definition.cputune(live)
        if shares and cg.path("cpu") is not None:
            cg.set_cpu_shares(shares)
        if (period or quota is not None) and cg.path("cpu") is not None:
            cg.set_cpu_quota(period, quota)
        cg.allow_default_devices()
    return apply


def _record_live_devices(live: Any, plans: list[network.VethPlan]) -> None:
    """What libvirt shows on a running container: NIC target/guest names, aliases."""
    from lxml import etree

    for index, (node, plan) in enumerate(zip(live.node.iterfind("devices/interface"), plans)):
        for tag, value in (("target", plan.host_name), ("guest", plan.guest_name)):
            child = node.find(tag)
            if child is None:
                child = etree.SubElement(node, tag)
            child.set("dev", value)
        if node.find("alias") is None:
            etree.SubElement(node, "alias", name=f"net{index}")
    for index, console in enumerate(live.node.iterfind("devices/console")):
        if console.find("alias") is None:
            etree.SubElement(console, "alias", name=f"console{index}")
    for index, fs in enumerate(live.node.iterfind("devices/filesystem")):
        if fs.find("alias") is None:
            etree.SubElement(fs, "alias", name=f"fs{index}")


def start(drv: "LxcDriverState", dom: "DomainObj", flags: int = 0, live: Any = None) -> None:
    if dom.active:
        raise error(VIR_ERR_OPERATION_INVALID, "Domain is already running",
                    domain=VIR_FROM_LXC)
    live = (live if live is not None else dom.persistent_def).copy()
    drv.dirs.create()
    spec = spec_from_def(live, console_socket=str(drv.dirs.console_path(dom.name)),
                         log_path=str(drv.dirs.log_path(dom.name)))
    if not live.node.findtext("os/init"):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, "no init given: set <os><init> (there is "
                    "no root filesystem to find /sbin/init in)", domain=VIR_FROM_LXC)
    _check_host_paths(spec)
    plans = network.plan_interfaces(live, drv.bridge_of_network)
    cgroup = ContainerCgroup(group_name(dom.name, drv.dirs.key), drv.cgroup_layout)
    ct = launcher.launch(spec, cgroup, drv.dirs.spec_path(dom.name), _limits(live), plans)
    dom_id = drv.domains.next_id()
    live.node.set("id", str(dom_id))
    _record_live_devices(live, plans)
    dom.mark_started(dom_id, live)
    drv.containers[dom.uuid] = ct
    step = sm.apply(dom, sm.Action.START)
    save_status(drv, dom)
    lifecycle_event(drv, dom, step.event, step.detail)
    drv.watch(dom, ct)


# --- stop ------------------------------------------------------------------------------------
def _finish_stop(drv: "LxcDriverState", dom: "DomainObj", reason: int, event_detail: int,
                 ct: launcher.Container) -> None:
    """The container is gone: host cleanup, status removed, state SHUTOFF, event."""
    ct.cleanup()
    session = drv.consoles.pop(dom.uuid, None)
    if session is not None:
        session.hangup()
    state_dir.remove_file(drv.dirs.status_path(dom.name))
    dom.set_state(S.SHUTOFF, reason)
    dom.mark_stopped()
    lifecycle_event(drv, dom, E.STOPPED, event_detail)
    if not dom.persistent:
        drv.domains.remove(dom)


def destroy(drv: "LxcDriverState", dom: "DomainObj", flags: int = 0) -> None:
    ct = container_of(drv, dom)
    del drv.containers[dom.uuid]
    ct.stopping = "destroy"
    ct.kill()
    _finish_stop(drv, dom, n.ShutoffReason.DESTROYED, n.STOPPED_DESTROYED, ct)


def shutdown(drv: "LxcDriverState", dom: "DomainObj", grace_s: float | None = None) -> None:
    """SIGTERM to init; SIGKILL after the grace period if it is still there.
    Returns at once: the container stops (and the event comes) when init exits."""
    if dom.state not in (S.RUNNING, S.BLOCKED):
        raise not_running()
    ct = container_of(drv, dom)
    ct.stopping = "shutdown"
    if not ct.signal_init(signal.SIGTERM):
        raise not_running()
    grace = SHUTDOWN_GRACE_S if grace_s is None else grace_s

    def enforce() -> None:
        if not ct.wait_exit(grace) and ct.running():
            log.warning("container '%s' ignored SIGTERM for %.1fs: killing it", dom.name, grace)
            ct.signal_init(signal.SIGKILL)

    threading.Thread(target=enforce, name=f"lxc-shutdown-{dom.name}", daemon=True).start()


def reboot(drv: "LxcDriverState", dom: "DomainObj") -> None:
    """Restart the container's init in fresh namespaces (same id, same live definition)."""
    if dom.state not in (S.RUNNING, S.BLOCKED):
        raise not_running()
    ct = container_of(drv, dom)
    del drv.containers[dom.uuid]
    ct.stopping = "reboot"
    ct.kill()
    ct.cleanup()
    live = dom.live_def.copy()
    live.node.attrib.pop("id", None)
    spec = spec_from_def(live, console_socket=str(drv.dirs.console_path(dom.name)),
                         log_path=str(drv.dirs.log_path(dom.name)))
    plans = network.plan_interfaces(live, drv.bridge_of_network)
    cgroup = ContainerCgroup(group_name(dom.name, drv.dirs.key), drv.cgroup_layout)
    try:
        new = launcher.launch(spec, cgroup, drv.dirs.spec_path(dom.name), _limits(live), plans)
    except libvirtError:
        state_dir.remove_file(drv.dirs.status_path(dom.name))
        dom.set_state(S.SHUTOFF, n.ShutoffReason.FAILED)
        dom.mark_stopped()
        lifecycle_event(drv, dom, E.STOPPED, n.STOPPED_FAILED)
        if not dom.persistent:
            drv.domains.remove(dom)
        raise
    drv.containers[dom.uuid] = new
    dom.set_state(S.RUNNING, n.RunningReason.BOOTED)
    save_status(drv, dom)
    drv.events.queue(n.EVENT_ID_REBOOT, drv.ref(dom))
    drv.watch(dom, new)


def suspend(drv: "LxcDriverState", dom: "DomainObj") -> None:
    require_active(dom)
    if dom.state == S.PAUSED:
        return
    container_of(drv, dom).cgroup.freeze(True)
    step = sm.apply(dom, sm.Action.SUSPEND)
    save_status(drv, dom)
    lifecycle_event(drv, dom, step.event, step.detail)


def resume(drv: "LxcDriverState", dom: "DomainObj") -> None:
    require_active(dom)
    if dom.state != S.PAUSED:
        raise error(VIR_ERR_OPERATION_INVALID, "domain is not paused", domain=VIR_FROM_LXC)
    container_of(drv, dom).cgroup.freeze(False)
    step = sm.apply(dom, sm.Action.RESUME)
    save_status(drv, dom)
    lifecycle_event(drv, dom, step.event, step.detail)


def handle_exit(drv: "LxcDriverState", dom: "DomainObj", ct: launcher.Container) -> None:
    """The controller exited (init gone) without destroy/reboot asking for it."""
    if drv.containers.get(dom.uuid) is not ct:
        return                      # destroy or reboot already dealt with it
    del drv.containers[dom.uuid]
    if ct.cgroup.frozen():
        try:
            ct.cgroup.freeze(False)
        except libvirtError:
            pass
    ct.kill(timeout=2.0)             # whatever is left of the pid namespace
    _finish_stop(drv, dom, n.ShutoffReason.SHUTDOWN, n.STOPPED_SHUTDOWN, ct)
