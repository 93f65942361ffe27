"""One QEMU driver instance: the domains of one state layout and their QEMUs.

:class:`QemuDriverState` holds the domains of one
:class:`~pyvirt.drivers.qemu.state_dir.StateDirs` layout, their running QEMUs
(:class:`~pyvirt.drivers.qemu.runtime.DomainRuntime`), the event broker and a
worker thread. Every connection of the process to the same root shares it
(:func:`state_for`). Starting it loads the persistent definitions, reattaches
to the QEMUs still running (:mod:`~pyvirt.drivers.qemu.reattach`), loads the
snapshot metadata and starts the autostart domains.

QMP events and process exits are handed to the worker (they arrive on other
threads and must not block them); it handles them one at a time under the
state's lock, then delivers the events they queued.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable

from pyvirt.conf.domain import DomainDef
from pyvirt.drivers.base import domain_ref
from pyvirt.drivers.common.configs import load_persistent
from pyvirt.drivers.common.worker import DriverWorker
from pyvirt.drivers.qemu import (
    config as qemu_config, host, hotplug, lifecycle, peers, reattach, save, snapshot,
    state_dir,
)
from pyvirt.drivers.qemu.defaults import parse_definition
from pyvirt.drivers.qemu.runtime import DomainRuntime
from pyvirt.drivers.qemu.state_dir import StateDirs
from pyvirt.objects import numbers as n
from pyvirt.objects.domain_list import DomainObjList
from pyvirt.objects.domain_obj import DomainObj
from pyvirt.objects.events import EventBroker

log = logging.getLogger(__name__)


class QemuDriverState(DriverWorker):
    """Domains, running QEMUs and events of one state layout."""

    def __init__(self, dirs: StateDirs, privileged: bool = True,
                 open_peers: Callable[[], tuple[Any, Any]] | None = None) -> None:
        self.dirs = dirs
        self.privileged = privileged
        #: qemu.conf: who QEMU runs as (ROOT/etc/qemu.conf, /etc/pyvirt/qemu.conf)
        self.config = qemu_config.load(qemu_config.config_path(dirs.config), privileged)
        self.domains = DomainObjList(first_id=1)
        self.events = EventBroker()
        self.runtimes: dict[bytes, DomainRuntime] = {}
        self.consoles: dict[bytes, Any] = {}        # uuid -> console.ConsoleSession
        self.lock = self.domains.lock
        self._init_worker("pyvirt-qemu-driver")
        self._host: host.HostQemu | None = None
        self._pidfile = -1
        self._open_peers = open_peers
        #: the driver's own network and storage connections (None: not on this URI)
        self.network: Any = None
        self.storage: Any = None

    # --- start-up ---------------------------------------------------------------
    def start(self) -> None:
        self.dirs.create()
        self._pidfile = state_dir.acquire_driver_pidfile(self.dirs)
        self._worker.start()
        if self._open_peers is not None:
            self.network, self.storage = self._open_peers()
            if self.storage is not None:
                self.storage.set_volume_users(lambda path: peers.volume_users(self, path))
        with self.lock:
            self._load_configs()
            reattach.reattach_all(self)
            for dom in self.domains:
                snapshot.load_metadata(self, dom)
        self.events.flush()
        self._autostart()

    def _load_configs(self) -> None:
        for dom in load_persistent(self, state_dir,
                                   lambda xml: parse_definition(xml, ours=True)[0],
                                   "domain", log):
            if os.path.exists(self.dirs.managed_save_path(dom.name)):
                dom.managed_save = str(self.dirs.managed_save_path(dom.name))

    def _autostart(self) -> None:
        self._autostart_each(lambda dom: start_domain(self, dom, 0), "domain")

    # --- the worker (DriverWorker): QMP events and process exits, one at a time ------

    def event_callback(self, uuid: bytes, rt: DomainRuntime) -> Callable[[str, dict], None]:
        def on_event(name: str, data: dict) -> None:
            if name == "DEVICE_DELETED" and data.get("device"):
                rt.note_deleted(data["device"])     # wakes a detach waiting under the lock

            def task() -> None:
                dom = self.domains.find_by_uuid(uuid)
                if dom is not None:
                    lifecycle.handle_qmp_event(self, dom, rt, name, data)
            self.post(task)
        return on_event

    def exit_callback(self, uuid: bytes) -> Callable[[DomainRuntime], None]:
        def on_exit(rt: DomainRuntime) -> None:
            def task() -> None:
                dom = self.domains.find_by_uuid(uuid)
                if dom is not None:
                    lifecycle.handle_process_exit(self, dom, rt)
                else:
                    rt.finished = True
            self.post(task)
        return on_exit

    def device_deleted(self, dom: DomainObj, data: dict) -> None:
        alias = data.get("device")
        rt = self.runtimes.get(dom.uuid)
        if alias and rt is not None and alias not in rt.pending_removals \
                and alias.startswith("vcpu"):
            return              # an unplugged vCPU: the waiting setVcpus counts it
        if alias and rt is not None:
            hotplug.device_removal_done(self, dom, rt, alias)
            self.events.queue(n.EVENT_ID_DEVICE_REMOVED, self.ref(dom), alias)

    def save_config(self, dom: DomainObj) -> None:
        state_dir.save_config(self.dirs, dom.name, dom.persistent_def.to_xml(inactive=True))

    # --- facts about the host ------------------------------------------------------
    def emulator(self, ddef: Any = None) -> str:
        if ddef is not None:
            text = ddef.node.findtext("devices/emulator")
            if text and text.strip():
                return text.strip()
        return host.find_binary()

    def host(self) -> host.HostQemu:
        """The probed QEMU (shared by the process; a test may set ``_host``)."""
        if self._host is None:
            self._host = host.host_qemu(str(self.dirs.cache))
        return self._host

    def kvm_usable(self) -> bool:
        return self.host().kvm_usable

    def kvm_problem(self) -> str:
        return self.host().kvm_reason

    def qemu_caps(self, ddef: Any = None) -> Any:
        """What the command-line builder needs to know about the host's QEMU."""
        return self.host().caps(self.emulator(ddef))

    def qemu_version(self) -> int:
        return self.host().version_number

    def parse(self, xml: str, validate: bool = False) -> tuple[DomainDef, list[str]]:
        return parse_definition(xml, validate, self.host().canonical_machine)

    ref = staticmethod(domain_ref)


_STATES: dict[str, QemuDriverState] = {}
_STATES_LOCK = threading.Lock()


def state_for(dirs: StateDirs, privileged: bool = True,
              open_peers: Callable[[], tuple[Any, Any]] | None = None) -> QemuDriverState:
    """The process-wide driver instance for ``dirs`` (started on first use);
    ``open_peers()`` gives its own (network, storage) connections."""
    key = str(dirs.config)
    with _STATES_LOCK:
        state = _STATES.get(key)
        if state is None:
            state = QemuDriverState(dirs, privileged, open_peers)
            state.start()
            _STATES[key] = state
        return state


def forget_state_for_tests(dirs: StateDirs) -> None:
    """Test hook: drop the instance for ``dirs`` (its QEMUs keep running) so the
    next open starts a fresh one that must reattach."""
    with _STATES_LOCK:
        state = _STATES.pop(str(dirs.config), None)
    if state is not None:
        with state.lock:
            for rt in list(state.runtimes.values()):
                rt.finished = True
                rt.close()
            state.runtimes.clear()
            if state._pidfile >= 0:
                os.close(state._pidfile)          # releases the driver.pid lock
                state._pidfile = -1


def start_domain(drv: "QemuDriverState", dom: DomainObj, flags: int) -> None:
    """Start a defined domain: from its managed-save image when it has one."""
    image = dom.managed_save
    if image and os.path.exists(image) and not flags & n.START_FORCE_BOOT:
        xml, running, offset = save.read_save_header(image)
        live = parse_definition(xml, False, drv.host().canonical_machine, ours=True)[0]
        run_flags = n.SAVE_PAUSED if flags & n.START_PAUSED else 0
        save.restore(drv, dom, image, live, running, offset, run_flags)
        state_dir.remove_file(drv.dirs.managed_save_path(dom.name))
        dom.managed_save = None
        return
    if image:
        state_dir.remove_file(drv.dirs.managed_save_path(dom.name))
        dom.managed_save = None
    lifecycle.start(drv, dom, flags)
