"""One network driver instance: its networks, their host state, files and events.

Connections opened on the same config and run dirs share one
:class:`NetworkDriverState` (see ``pyvirt.drivers.network.open_network``).
On creation it loads the persistent definitions, reconciles with what the run
dir says is live (reattaching to bridges and dnsmasq that still exist, removing
what is stale) and starts the autostart networks.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
import uuid as uuidlib
from pathlib import Path

from pyvirt.conf.network import NetworkDef
from pyvirt.drivers.network.forwarding_share import shares_for
from pyvirt.drivers.network.host import HostNetwork
from pyvirt.drivers.network.lifecycle import (
    BRIDGED_BY_US, NetworkRuntime, StartContext, firewall_plan, live_definition, start_network,
    stop_network, write_dnsmasq_files,
)
from pyvirt.drivers.base import NetworkRef
from pyvirt.drivers.network.store import NetworkDirs, StatusRecord, write_atomic
from pyvirt.errors import libvirtError
from pyvirt.network import dnsmasq
from pyvirt.objects import numbers as n
from pyvirt.objects.events import EventBroker
from pyvirt.objects.named_list import NamedObjList
from pyvirt.objects.network_obj import NetworkObj

log = logging.getLogger(__name__)


def parse_definition(xml: str, *, validate: bool = True) -> NetworkDef:
    ndef = NetworkDef.from_xml(xml, validate=validate)
    return ndef.normalize()


def uuid_bytes(ndef: NetworkDef) -> bytes:
    return uuidlib.UUID(ndef.uuid).bytes


class NetworkDriverState:
    """Networks of one (config dir, run dir) pair, and what runs for them."""

    def __init__(self, config_dir: Path, run_dir: Path, *, host: HostNetwork | None = None,
                 dnsmasq_binary: str | None = None, dnsmasq_user: str | None = None) -> None:
        self.dirs = NetworkDirs(Path(config_dir), Path(run_dir))
        self.host = host or HostNetwork()
        self.dnsmasq_binary = dnsmasq_binary or os.environ.get(
            "PYVIRT_DNSMASQ", dnsmasq.DEFAULT_BINARY)
        self.dnsmasq_user = dnsmasq_user if dnsmasq_user is not None else (
            "root" if os.geteuid() == 0 else None)
        self.nets: NamedObjList[NetworkObj] = NamedObjList()
        self.lock = self.nets.lock
        self.events = EventBroker()
        self.runtime: dict[bytes, NetworkRuntime] = {}
        self.forwarding = shares_for(self.host)
        self._forwarding_ours: set[str] = set()   # switched on by this state
        self._restarts: dict[bytes, list[float]] = {}

    # --- events -----------------------------------------------------------------------
    def queue_event(self, net: NetworkObj, event: int) -> None:
        self.events.queue(n.NETWORK_EVENT_ID_LIFECYCLE, NetworkRef(net.name, net.uuid),
                          event, 0)

    def flush_events(self) -> None:
        self.events.flush()

    # --- forwarding shared by the running networks ---------------------------------
    def acquire_forwarding(self, family: str) -> None:
        if self.forwarding.acquire(family):
            self._forwarding_ours.add(family)
            self._save_forwarding()

    def release_forwarding(self, family: str) -> None:
        if self.forwarding.release(family) or family in self._forwarding_ours:
            if family not in self.forwarding.ours:
                self._forwarding_ours.discard(family)
                self._save_forwarding()

    def _forwarding_file(self) -> Path:
        return self.dirs.run / "forwarding"

    def _save_forwarding(self) -> None:
        if self._forwarding_ours:
            write_atomic(self._forwarding_file(), " ".join(sorted(self._forwarding_ours)) + "\n")
        else:
            self._forwarding_file().unlink(missing_ok=True)

    # --- start / stop --------------------------------------------------------------
    def start_context(self, exclude: bytes | None = None) -> StartContext:
        running = []
        for uuid, rt in self.runtime.items():
            net = self.nets.find_by_uuid(uuid)
            if uuid == exclude or net is None or rt.mode not in BRIDGED_BY_US:
                continue
            for ip in net.definition.ips:
                subnet = ip.network()
                if subnet is not None:
                    running.append((subnet, rt.bridge or ""))
        return StartContext(host=self.host, run_dir=self.dirs.run,
                            dnsmasq_binary=self.dnsmasq_binary,
                            dnsmasq_user=self.dnsmasq_user, running_subnets=running,
                            acquire_forwarding=self.acquire_forwarding,
                            release_forwarding=self.release_forwarding)

    def start(self, net: NetworkObj) -> None:
        """Bring ``net`` up on the host and record it live (no event).

        A persistent network keeps its configuration in ``pending_def`` while
        ``definition`` is the live one, as libvirt's newDef/def.
        """
        live = live_definition(net.definition)
        ctx = self.start_context(exclude=net.uuid)
        ctx.bridge_created = lambda: self._save_intent(net.name, live)
        try:
            runtime = start_network(live, ctx)
        except BaseException:
            self.dirs.delete_status(net.name)
            raise
        if net.persistent and net.pending_def is None:
            net.pending_def = net.definition
        net.definition = live
        self.runtime[net.uuid] = runtime
        self._supervise(net.uuid, runtime.dnsmasq)
        net.active = True
        try:
            self.save_status(net)
        except BaseException:
            self.stop(net)
            raise

    def _save_intent(self, name: str, live: NetworkDef) -> None:
        """Once its bridge exists, record what starting ``live`` creates, so a
        crash before the start completes leaves a record the next load cleans up."""
        mode = live.forward_mode or "none"
        if mode not in BRIDGED_BY_US:
            return
        plan = firewall_plan(live, live.bridge_name) if mode != "open" else None
        self.dirs.save_status(StatusRecord(
            name=name, network_xml=live.to_xml(), bridge=live.bridge_name,
            chains=plan.chain_names() if plan else (), dnsmasq=dnsmasq.needs_dnsmasq(live),
            starting=True))

    def stop(self, net: NetworkObj) -> None:
        runtime = self.runtime.pop(net.uuid, None)
        if runtime is not None:
            stop_network(net.name, runtime, self.start_context(),
                         keep_leases=net.persistent)
        self.dirs.delete_status(net.name)
        net.active = False
        if net.pending_def is not None:
            net.definition, net.pending_def = net.pending_def, None

    # --- dnsmasq supervision ------------------------------------------------------------
    def restart_dnsmasq(self, net: NetworkObj, runtime: NetworkRuntime) -> None:
        """Rewrite the network's dnsmasq files and (re)start it."""
        files = dnsmasq.DnsmasqFiles(self.dirs.run, net.name)
        write_dnsmasq_files(net.definition, runtime.bridge, files, self.dnsmasq_user)
        if runtime.dnsmasq is not None:
            runtime.dnsmasq.stop()
            runtime.dnsmasq = None
        runtime.dnsmasq = self.host.dnsmasq_start(self.dnsmasq_binary, files)
        self._supervise(net.uuid, runtime.dnsmasq)

    def _supervise(self, uuid: bytes, proc: object) -> None:
        if proc is not None and hasattr(proc, "on_unexpected_exit"):
            proc.on_unexpected_exit = lambda dead: self._dnsmasq_exited(uuid, dead)

    def _dnsmasq_exited(self, uuid: bytes, dead: object) -> None:
        """A dnsmasq died on its own: start a new one (at most 5 times a minute)."""
        with self.lock:
            runtime, net = self.runtime.get(uuid), self.nets.find_by_uuid(uuid)
            if runtime is None or net is None or runtime.dnsmasq is not dead:
                return
            now = time.monotonic()
            recent = [t for t in self._restarts.get(uuid, []) if now - t < 60] + [now]
            self._restarts[uuid] = recent
            if len(recent) > 5:
                log.error("dnsmasq for network '%s' keeps dying; not restarting", net.name)
                return
            runtime.dnsmasq = None
            self.restart_dnsmasq(net, runtime)
            self.save_status(net)

    def save_status(self, net: NetworkObj) -> None:
        runtime = self.runtime[net.uuid]
        self.dirs.save_status(runtime.status(net.name, net.definition.to_xml()))

    def save_config(self, net: NetworkObj) -> None:
        ndef = net.pending_def if net.pending_def is not None else net.definition
        self.dirs.save_config(net.name, ndef.to_xml())

    # --- bridge names ---------------------------------------------------------------
    def assign_bridge_name(self, ndef: NetworkDef) -> None:
        """libvirt's virNetworkBridgeNameAssign: the lowest ``virbrN`` (or the
        definition's own ``%d`` template) no other network or host link uses."""
        template = ndef.bridge_name if ndef.bridge_name and "%d" in ndef.bridge_name \
            else "virbr%d"
        taken = {o.definition.bridge_name for o in self.nets if o.name != ndef.name}
        taken |= {o.pending_def.bridge_name for o in self.nets
                  if o.pending_def is not None and o.name != ndef.name}
        links = self.host.link_names()
        for index in range(0, 1024):
            candidate = template.replace("%d", str(index), 1)
            if candidate not in taken and candidate not in links:
                ndef.bridge_name = candidate
                ndef.normalize()
                return
        raise RuntimeError("no free bridge name")  # pragma: no cover

    def bridge_in_use(self, bridge: str, name: str) -> bool:
        for other in self.nets:
            if other.name == name:
                continue
            for d in (other.definition, other.pending_def):
                if d is not None and d.bridge_name == bridge:
                    return True
        return False

    # --- loading, reconciling, autostart ----------------------------------------------
    def load(self) -> None:
        """Read the config dir, reconcile with the run dir, start autostart networks."""
        self.dirs.ensure()
        self._load_forwarding()
        for stem, xml in self.dirs.configs():
            try:
                ndef = parse_definition(xml, validate=False)
            except libvirtError as err:
                log.warning("ignoring network config %s: %s", stem, err)
                continue
            net = NetworkObj(name=ndef.name, uuid=uuid_bytes(ndef), definition=ndef,
                             autostart=self.dirs.is_autostart(ndef.name))
            self.nets.add(net)
        for record in self.dirs.statuses():
            self._reconcile(record)
        self._release_unused_forwarding()
        self.autostart()

    def _load_forwarding(self) -> None:
        try:
            self._forwarding_ours = set(self._forwarding_file().read_text().split())
        except OSError:
            self._forwarding_ours = set()

    def _reconcile(self, record: StatusRecord) -> None:
        try:
            live = parse_definition(record.network_xml, validate=False)
        except libvirtError as err:
            log.warning("ignoring status of network %s: %s", record.name, err)
            self.dirs.delete_status(record.name)
            return
        mode = live.forward_mode or "none"
        runtime = NetworkRuntime(bridge=record.bridge, mode=mode, chains=record.chains,
                                 forwarding=record.forwarding, ports=dict(record.ports),
                                 floors=dict(record.floors))
        files = dnsmasq.DnsmasqFiles(self.dirs.run, record.name)
        if record.dnsmasq:
            runtime.dnsmasq = self.host.dnsmasq_adopt(files)
        alive = bool(record.bridge) and self.host.link_exists(record.bridge) \
            and not record.starting
        net = self.nets.find_by_uuid(uuid_bytes(live))
        if not alive:
            log.info("network %s is gone from the host: removing what is left", record.name)
            ctx = self.start_context()
            for family in runtime.forwarding:   # stop_network releases them
                self.forwarding.adopt(family)
            stop_network(record.name, runtime, ctx, keep_leases=net is not None)
            self.dirs.delete_status(record.name)
            return
        if net is None:
            net = self.nets.add(NetworkObj(name=live.name, uuid=uuid_bytes(live),
                                           definition=live, persistent=False))
        else:
            net.pending_def, net.definition = net.definition, live
        net.active = True
        for family in runtime.forwarding:
            self.forwarding.adopt(family)
        runtime.ports = {tap: mac for tap, mac in runtime.ports.items()
                         if self.host.link_exists(tap)}
        runtime.floors = {tap: f for tap, f in runtime.floors.items() if tap in runtime.ports}
        self.runtime[net.uuid] = runtime
        try:
            self._reattach(net, runtime)
        except libvirtError as err:
            log.warning("network %s: could not restore its services: %s", net.name, err)
        self.save_status(net)

    def _reattach(self, net: NetworkObj, runtime: NetworkRuntime) -> None:
        """Re-apply the firewall and restart a dnsmasq that died meanwhile."""
        if runtime.chains:
            self.host.firewall_add(firewall_plan(net.definition, runtime.bridge))
        if dnsmasq.needs_dnsmasq(net.definition) and (
                runtime.dnsmasq is None or not runtime.dnsmasq.is_running()):
            runtime.dnsmasq = None
            self.restart_dnsmasq(net, runtime)

    def _release_unused_forwarding(self) -> None:
        self._forwarding_ours -= self.forwarding.release_unused(set(self._forwarding_ours))
        self._save_forwarding()

    def autostart(self) -> None:
        for net in self.nets.list(n.LIST_INACTIVE | n.LIST_AUTOSTART):
            try:
                with self.lock:
                    self.start(net)
                    self.queue_event(net, n.NET_EVENT_STARTED)
            except libvirtError as err:
                log.error("failed to autostart network '%s': %s", net.name, err)
        self.flush_events()

    # --- used by the guest-interface plumbing ------------------------------------------
    def subnet_prefix(self, net: NetworkObj, address: str) -> int:
        addr = ipaddress.ip_address(address)
        for ip in net.definition.ips:
            subnet = ip.network()
            if subnet is not None and subnet.version == addr.version and addr in subnet:
                return subnet.prefixlen
        return 0

    def release(self) -> None:
        """Let go of the running networks without stopping them (what a daemon
        exiting does): their dnsmasq processes are no longer restarted from here."""
        with self.lock:
            for runtime in self.runtime.values():
                if runtime.dnsmasq is not None and hasattr(runtime.dnsmasq,
                                                           "on_unexpected_exit"):
                    runtime.dnsmasq.on_unexpected_exit = None
                for family in runtime.forwarding:
                    self.forwarding.forget(family)
            self.runtime.clear()

    def shutdown(self) -> None:
        """Stop every running network (tests; libvirtd leaves them running)."""
        with self.lock:
            for net in list(self.nets):
                if net.active:
                    self.stop(net)
                    if not net.persistent:
                        self.nets.remove(net)
