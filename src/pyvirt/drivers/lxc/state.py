"""One LXC driver instance: the containers of one state layout.

:class:`LxcDriverState` holds the domains of one
:class:`~pyvirt.drivers.lxc.state_dir.StateDirs` layout, their running
containers, console sessions, the event broker and a worker thread. Every
connection of the process to the same root shares it (:func:`state_for`).
Starting it loads the definitions, reattaches to the containers still
running (their status files name the controller and init with start times;
a container whose processes are gone is cleaned up), then autostarts.

Controller exits arrive on watcher threads; the worker handles them one at
a time under the state's lock and delivers the events they queued.
"""

from __future__ import annotations

import logging
import threading
import uuid as uuidlib
from pathlib import Path
from typing import Any

from pyvirt.conf.domain import DomainDef
from pyvirt.drivers.base import domain_ref
from pyvirt.drivers.common.configs import load_persistent
from pyvirt.drivers.common.worker import DriverWorker
from pyvirt.drivers.lxc import launcher, lifecycle, state_dir
from pyvirt.drivers.lxc.cgroup import ContainerCgroup, Layout, layout
from pyvirt.drivers.lxc.definition import parse_definition
from pyvirt.drivers.lxc.state_dir import StateDirs
from pyvirt.errors import VIR_ERR_NO_NETWORK, VIR_FROM_LXC, error, libvirtError
from pyvirt.objects import numbers as n
from pyvirt.objects.domain_list import DomainObjList
from pyvirt.objects.domain_obj import DomainObj
from pyvirt.objects.events import EventBroker

log = logging.getLogger(__name__)


class LxcDriverState(DriverWorker):
    """Domains, running containers and events of one state layout."""

    def __init__(self, dirs: StateDirs, cgroup_layout: Layout | None = None) -> None:
        self.dirs = dirs
        self.domains = DomainObjList(first_id=1)
        self.events = EventBroker()
        self.containers: dict[bytes, launcher.Container] = {}
        self.consoles: dict[bytes, Any] = {}
        self.lock = self.domains.lock
        self.cgroup_layout = cgroup_layout if cgroup_layout is not None else layout()
        #: set when a test drops this instance: its watchers must not touch the host
        self.detached = False
        self._init_worker("pyvirt-lxc-driver")

    # --- start-up ------------------------------------------------------------------
    def start(self) -> None:
        self.dirs.create()
        self._worker.start()
        with self.lock:
            self._load_configs()
            self._reattach_all()
        self.events.flush()
        if self._should_autostart():
            self._autostart()

    def _should_autostart(self) -> bool:
        """libvirt's virDriverShouldAutostart: once per boot of the host (the
        ``autostarted`` marker lives in the run dir, a tmpfs on real hosts), not
        on every start of a driver instance (a daemon restart, a pyvirsh run)."""
        marker = self.dirs.run / "autostarted"
        if marker.exists():
            return False
        try:
            marker.touch()
        except OSError:
            pass
        return True

    def _load_configs(self) -> None:
        load_persistent(self, state_dir, parse_definition, "container", log)

    def _reattach_all(self) -> None:
        for stem, text in state_dir.load_statuses(self.dirs):
            try:
                rec = state_dir.parse_status(text)
                live = DomainDef.from_xml(rec.domain_xml)
            except libvirtError as err:
                log.error("ignoring status file of '%s': %s", stem, err.get_error_message())
                state_dir.remove_file(self.dirs.status_path(stem))
                continue
            self._reattach(stem, rec, live)

    def _reattach(self, name: str, rec: state_dir.StatusRecord, live: DomainDef) -> None:
        ct = launcher.Container(
            name=name, controller_pid=rec.controller_pid, controller_start=rec.controller_start,
            init_pid=rec.init_pid, init_start=rec.init_start,
            cgroup=ContainerCgroup(rec.cgroup, self.cgroup_layout), veths=rec.veths,
            console_socket=str(self.dirs.console_path(name)),
            log_path=str(self.dirs.log_path(name)))
        if not (launcher.alive(rec.controller_pid, rec.controller_start)
                and launcher.alive(rec.init_pid, rec.init_start)):
            log.info("container '%s' stopped while the driver was away: cleaning up", name)
            ct.kill(timeout=2.0)
            ct.cleanup()
            state_dir.remove_file(self.dirs.status_path(name))
            dom = self.domains.find_by_name(name)
            if dom is not None:
                dom.set_state(n.DomainState.SHUTOFF, n.ShutoffReason.UNKNOWN)
            return
        uuid = uuidlib.UUID(live.uuid).bytes
        dom = self.domains.find_by_uuid(uuid)
        if dom is None:
            dom = self.domains.add(DomainObj(name=name, uuid=uuid))
        dom.mark_started(live.id if live.id is not None else self.domains.next_id(), live)
        state, reason = lifecycle.state_from_record(rec)
        dom.set_state(state, reason)
        self.containers[uuid] = ct
        while self.domains.next_id() <= dom.id:   # ids stay unique after a restart
            pass
        self.watch(dom, ct)

    def _autostart(self) -> None:
        self._autostart_each(lambda dom: lifecycle.start(self, dom), "container")

    # --- the worker (DriverWorker): controller exits, one at a time ---------------------

    def watch(self, dom: DomainObj, ct: launcher.Container) -> None:
        uuid = dom.uuid

        def on_exit(_ct: launcher.Container) -> None:
            def task() -> None:
                if self.detached:
                    return
                current = self.domains.find_by_uuid(uuid)
                if current is not None:
                    lifecycle.handle_exit(self, current, ct)
            self.post(task)

        ct.watch(on_exit)

    # --- helpers ------------------------------------------------------------------------
    def save_config(self, dom: DomainObj) -> None:
        state_dir.save_config(self.dirs, dom.name, dom.persistent_def.to_xml(inactive=True))

    def bridge_of_network(self, name: str) -> str:
        """The bridge of running virtual network ``name`` (the network driver's)."""
        from pyvirt.drivers.network import open_network

        root = self.dirs.config.parent
        config, run = (root / "network", self.dirs.run.parent / "network") \
            if self.dirs.key else (Path("/etc/pyvirt/network"), Path("/run/pyvirt/network"))
        try:
            net = open_network(config, run, readonly=True)
            ref = net.network_lookup_by_name(name)
            if not net.network_is_active(ref):
                raise error(VIR_ERR_NO_NETWORK, f"network '{name}' is not active",
                            domain=VIR_FROM_LXC)
            return net.network_get_bridge_name(ref)
        except libvirtError:
            raise
        except Exception as err:  # noqa: BLE001 - report as libvirt does
            raise error(VIR_ERR_NO_NETWORK, f"no network with matching name '{name}'",
                        domain=VIR_FROM_LXC) from err

    ref = staticmethod(domain_ref)


_STATES: dict[str, LxcDriverState] = {}
_STATES_LOCK = threading.Lock()


def state_for(dirs: StateDirs) -> LxcDriverState:
    """The process-wide driver instance for ``dirs`` (started on first use)."""
    key = str(dirs.config)
    with _STATES_LOCK:
        state = _STATES.get(key)
        if state is None:
            state = LxcDriverState(dirs)
            state.start()
            _STATES[key] = state
        return state


def forget_state_for_tests(dirs: StateDirs) -> None:
    """Test hook: drop the instance for ``dirs`` (its containers keep running) so
    the next open starts a fresh one that must reattach."""
    with _STATES_LOCK:
        state = _STATES.pop(str(dirs.config), None)
    if state is not None:
        with state.lock:
            state.detached = True
            for session in state.consoles.values():
                session.close()
            state.containers.clear()
            state.consoles.clear()


__all__ = ["LxcDriverState", "state_for", "forget_state_for_tests"]
