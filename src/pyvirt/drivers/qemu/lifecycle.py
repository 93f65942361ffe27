"""Start, stop, pause and reboot a domain's QEMU (save/restore: ``save.py``).

Each flow works on a :class:`~pyvirt.objects.domain_obj.DomainObj` under the
driver's lock and on its :class:`~pyvirt.drivers.qemu.runtime.DomainRuntime`.
Launching is a template with guaranteed cleanup: *prepare* (checks that need
no process: files, conflicts, KVM) → *spawn* (paused, ``-S``) and *connect*
(QMP) through the groundwork's ``QemuProcess`` → *finish* (``cont`` unless
asked to stay paused, status written). Any failure kills what was started,
removes the run-dir files, leaves the domain shut off (reason ``failed``) and
reports QEMU's own words plus the command line.

Things QEMU does by itself (the guest powers off, resets, the process dies)
arrive as QMP events or as the pidfd turning readable; the driver hands them
to :func:`handle_qmp_event` / :func:`handle_process_exit` on its worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
from typing import TYPE_CHECKING, Any, Iterator

from pyvirt.conf.devices import disk_name_to_index
from pyvirt.drivers.qemu import agent, command, console, isolation, peers
from pyvirt.drivers.qemu import state_dir
from pyvirt.drivers.qemu.graphics import record_vnc_ports
from pyvirt.drivers.qemu.paths import RunPaths
from pyvirt.drivers.qemu.process import QemuProcess, read_log_tail
from pyvirt.drivers.qemu.runtime import DomainRuntime, subscribe
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_FAILED,
    VIR_ERR_OPERATION_INVALID, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN, VIR_FROM_QEMU,
    VIR_FROM_SECURITY, VIR_FROM_STORAGE, error, libvirtError,
)
from pyvirt.objects import numbers as n
from pyvirt.objects.numbers import (
    DomainEvent as E, DomainState as S, PausedReason, RunningReason, ShutoffReason,
)

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.driver_state import QemuDriverState
    from pyvirt.objects.domain_obj import DomainObj

log = logging.getLogger(__name__)
#: virDomainEventID VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE (payload: the actual KiB)
EVENT_ID_BALLOON_CHANGE = 13

#: seconds between SIGTERM and SIGKILL on destroy (libvirt waits 10 s too)
DESTROY_GRACE_S = 10.0
#: VIR_DOMAIN_EVENT_SHUTDOWN details
SHUTDOWN_FINISHED, SHUTDOWN_GUEST, SHUTDOWN_HOST = 0, 1, 2
SHUTDOWN_REASON_USER = 1            # VIR_DOMAIN_SHUTDOWN_USER
SUSPENDED_RESTORED = 4              # VIR_DOMAIN_EVENT_SUSPENDED_RESTORED
#: the RESUMED detail libvirt 9.0 reports after a restore (observed: 2)
RESUMED_FROM_RESTORE = 2

# --- state words for the status file (libvirt's virDomainState/reason strings) ------
STATE_WORDS = {S.NOSTATE: "nostate", S.RUNNING: "running", S.BLOCKED: "blocked",
               S.PAUSED: "paused", S.SHUTDOWN: "shutdown", S.SHUTOFF: "shutoff",
               S.CRASHED: "crashed", S.PMSUSPENDED: "pmsuspended"}
REASON_WORDS: dict[S, tuple[str, ...]] = {
    S.RUNNING: ("unknown", "booted", "migrated", "restored", "from snapshot", "unpaused",
                "migration canceled", "save canceled", "wakeup", "crashed", "post-copy"),
    S.PAUSED: ("unknown", "user", "migration", "save", "dump", "ioerror", "watchdog",
               "from snapshot", "shutdown", "snapshot", "panicked", "starting up",
               "post-copy", "post-copy failed"),
    S.SHUTDOWN: ("unknown", "user"),
    S.CRASHED: ("unknown", "panicked"),
}


def state_to_words(state: S, reason: int) -> tuple[str, str]:
    reasons = REASON_WORDS.get(state, ("unknown",))
    return STATE_WORDS[state], reasons[reason] if 0 <= reason < len(reasons) else "unknown"


def state_from_words(state: str, reason: str) -> tuple[S, int]:
    found = next((s for s, word in STATE_WORDS.items() if word == state), S.RUNNING)
    reasons = REASON_WORDS.get(found, ("unknown",))
    return found, reasons.index(reason) if reason in reasons else 0


# --- small helpers -------------------------------------------------------------------
def not_running() -> libvirtError:
    return error(VIR_ERR_OPERATION_INVALID, "domain is not running", domain=VIR_FROM_DOMAIN)


def require_active(dom: "DomainObj") -> None:
    if not dom.active:
        raise not_running()


def lifecycle_event(drv: "QemuDriverState", dom: "DomainObj", event: int, detail: int) -> None:
    drv.events.queue(n.EVENT_ID_LIFECYCLE, drv.ref(dom), int(event), int(detail))


def save_status(drv: "QemuDriverState", dom: "DomainObj") -> None:
    """Write the live status of a running domain (atomically)."""
    rt = drv.runtimes.get(dom.uuid)
    if rt is None or dom.live_def is None:
        return
    state, reason = state_to_words(dom.state, dom.reason)
    live = dom.live_def.copy()
    live.node.attrib.pop("id", None)
    state_dir.save_status(drv.dirs, state_dir.StatusRecord(
        name=dom.name, state=state, reason=reason, pid=rt.pid, pid_start=rt.pid_start,
        monitor=rt.monitor_path, dom_id=dom.id, live_xml=live.to_xml(),
        persistent=dom.persistent))


def save_starting_status(drv: "QemuDriverState", dom: "DomainObj", rt: DomainRuntime,
                         live: Any, dom_id: int) -> None:
    """The status of a QEMU still being started (paused, starting up), so a daemon
    that dies before the start ends leaves a trace: the next one finds that QEMU
    and kills it (libvirt's reconnect does the same) instead of never seeing it.
    Written first right after the spawn (before the QMP handshake), again here."""
    _save_starting(drv, dom, live, rt.pid, rt.pid_start, rt.monitor_path, dom_id)


def _save_starting(drv: "QemuDriverState", dom: "DomainObj", live: Any, pid: int,
                   pid_start: int, monitor: str, dom_id: int) -> None:
    state, reason = state_to_words(S.PAUSED, PausedReason.STARTING_UP)
    record = live.copy()
    record.node.attrib.pop("id", None)
    state_dir.save_status(drv.dirs, state_dir.StatusRecord(
        name=dom.name, state=state, reason=reason, pid=pid, pid_start=pid_start,
        monitor=monitor, dom_id=dom_id, live_xml=record.to_xml(),
        persistent=dom.persistent))


# --- prepare: checks that need no process ----------------------------------------------
def check_host_files(ddef: Any) -> None:
    """Kernel, initrd and disk sources must exist before QEMU is started."""
    node = ddef.node
    for tag in ("kernel", "initrd", "dtb"):
        path = (node.findtext(f"os/{tag}") or "").strip()
        if path and not os.path.exists(path):
            # libvirt's DAC labelling is what stats it first
            raise error(VIR_ERR_SYSTEM_ERROR,
                        f"unable to stat: {path}: No such file or directory",
                        domain=VIR_FROM_SECURITY)
    for disk in node.iterfind("devices/disk"):
        path = disk_source(disk)
        if path is None:
            continue
        if not os.path.exists(path):
            if disk.find("source") is not None and \
                    disk.find("source").get("startupPolicy") in ("optional",):
                continue
            raise error(VIR_ERR_SYSTEM_ERROR,
                        f"Cannot access storage file '{path}': No such file or directory",
                        domain=VIR_FROM_STORAGE)


def disk_source(disk: Any) -> str | None:
    source = disk.find("source")
    if source is None:
        return None
    return source.get("file") or source.get("dev")


def _writable_exclusive(disk: Any) -> bool:
    return disk.find("readonly") is None and disk.find("shareable") is None \
        and disk.get("device", "disk") in ("disk", "lun")


def check_disk_conflicts(drv: "QemuDriverState", dom: "DomainObj", ddef: Any) -> None:
    """A writable, non-shareable disk may be open in one running domain only."""
    mine = {os.path.realpath(p): p for disk in ddef.node.iterfind("devices/disk")
            if (p := disk_source(disk)) and _writable_exclusive(disk)}
    if not mine:
        return
    for other in drv.domains:
        if other.uuid == dom.uuid or not other.active or other.live_def is None:
            continue
        running = drv.runtimes.get(other.uuid)
        used = getattr(running, "disk_def", None) or other.live_def
        for disk in used.node.iterfind("devices/disk"):
            path = disk_source(disk)
            if path and os.path.realpath(path) in mine and disk.get("device", "disk") in (
                    "disk", "lun") and disk.find("shareable") is None:
                raise error(VIR_ERR_OPERATION_INVALID,
                            f"disk '{mine[os.path.realpath(path)]}' is in use by running "
                            f"domain '{other.name}' (writable and not shareable)",
                            domain=VIR_FROM_QEMU)


def check_accel(drv: "QemuDriverState", ddef: Any) -> None:
    virt = ddef.node.get("type")
    if virt == "kvm" and not drv.kvm_usable():
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    "Domain requires KVM, but it is not usable on this host: "
                    f"{drv.kvm_problem() or 'KVM does not work'}; use <domain type='qemu'> "
                    "(TCG) instead",
                    domain=VIR_FROM_QEMU)
    if virt not in ("qemu", "kvm"):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    f"Emulator '{drv.emulator(ddef)}' does not support virt type '{virt}'",
                    domain=VIR_FROM_QEMU)


# --- launching ---------------------------------------------------------------------------
def disk_alias(disk: Any) -> str:
    """The id QEMU knows a disk by, as libvirt names it (from the target's index)."""
    target = disk.find("target")
    dev = target.get("dev", "") if target is not None else ""
    bus = target.get("bus") if target is not None else None
    bus = bus or ("virtio" if dev.startswith("vd") else "ide")
    index = disk_name_to_index(dev) or 0
    return {"virtio": f"virtio-disk{index}", "scsi": f"scsi0-0-0-{index}",
            "sata": f"sata0-0-{index}"}.get(bus, f"ide0-{index // 2}-{index % 2}")


def assign_aliases(live: Any) -> None:
    """Name every device the way libvirt's live XML does (``<alias name=.../>``):
    disks by bus and target, controllers by type and index, the rest numbered."""
    devices = live.node.find("devices")
    if devices is None:
        return
    counters: dict[str, int] = {}

    def numbered(prefix: str) -> str:
        count = counters.get(prefix, 0)
        counters[prefix] = count + 1
        return f"{prefix}{count}"

    for dev in devices:
        if not isinstance(dev.tag, str) or dev.find("alias") is not None:
            if isinstance(dev.tag, str) and dev.tag in _NUMBERED:
                numbered(_NUMBERED[dev.tag])      # keep later numbers stable
            continue
        name = _alias_for(dev, numbered)
        if name is not None:
            _add_alias(dev, name)


_NUMBERED = {"input": "input", "interface": "net", "rng": "rng", "video": "video",
             "channel": "channel", "watchdog": "watchdog", "sound": "sound"}


def _alias_for(dev: Any, numbered: Any) -> str | None:
    tag = dev.tag
    if tag == "disk":
        return disk_alias(dev)
    if tag == "controller":
        kind, index = dev.get("type"), dev.get("index", "0")
        if kind == "usb":
            return "usb" if index == "0" else f"usb{index}"
        if kind == "pci":
            return f"pci.{index}"
        if kind == "ide":
            return "ide"
        if kind in ("sata", "scsi", "virtio-serial", "fdc", "ccid"):
            return f"{kind}{index}"
        return None
    if tag == "serial":
        target = dev.find("target")
        return f"serial{target.get('port', '0') if target is not None else '0'}"
    if tag == "console":
        target = dev.find("target")
        kind = target.get("type", "serial") if target is not None else "serial"
        port = target.get("port", "0") if target is not None else "0"
        return f"serial{port}" if kind == "serial" else f"console{port}"
    if tag == "memballoon":
        return None if dev.get("model") == "none" else "balloon0"
    if tag in _NUMBERED:
        return numbered(_NUMBERED[tag])
    return None


def _add_alias(dev: Any, name: str) -> None:
    """``<alias>`` goes before ``<address>`` (libvirt's device info order)."""
    from lxml import etree

    alias = etree.Element("alias", name=name)
    address = dev.find("address")
    if address is not None:
        address.addprevious(alias)
    else:
        dev.append(alias)


def prepare_disks(drv: "QemuDriverState", dom: "DomainObj", live: Any) -> Any:
    """Checks on the disks before a start; returns ``live`` with volume disks
    resolved to their paths (what QEMU is given)."""
    disk_def = peers.resolve_disks(drv.storage, live)
    check_host_files(disk_def)
    check_disk_conflicts(drv, dom, disk_def)
    return disk_def


def launch(drv: "QemuDriverState", dom: "DomainObj", live: Any,
           incoming_fd: int | None = None, disk_def: Any = None) -> DomainRuntime:
    """Plug the NICs' taps, spawn QEMU paused for ``live`` (its disks as in
    ``disk_def``) and connect its monitor (the groundwork's launch template: a
    failure kills what it started and reports QEMU's words and the command
    line); our run files and the taps go too."""
    dirs = drv.dirs
    dirs.create()
    argv_def = disk_def if disk_def is not None else live
    conf = isolation.confine_domain(drv, dom, live, argv_def)
    try:
        taps, tap_fds = peers.plug_interfaces(drv.network, live)
        try:
            rt = _spawn(drv, dom, argv_def, incoming_fd, taps, tuple(tap_fds), conf,
                        live=live)
        except BaseException:
            peers.unplug_taps(drv.network, taps)
            raise
        finally:
            peers.close_fds(tap_fds)          # QEMU holds its own copies
    except BaseException:
        isolation.release(drv, dom.name, dom.uuid)
        raise
    rt.owner = conf.owner if conf is not None else None
    try:
        isolation.place_threads(drv, dom, rt, live)     # vcpuN/ and emulator/ cgroups
    except BaseException:
        abort_launch(drv, dom, rt)
        raise
    return rt


def _spawn(drv: "QemuDriverState", dom: "DomainObj", argv_def: Any, incoming_fd: int | None,
           taps: list[str], tap_fds: tuple[int, ...], conf: Any = None, *,
           live: Any = None) -> DomainRuntime:
    dirs = drv.dirs

    def build(paths: RunPaths) -> list[str]:
        return command.build_argv(argv_def, drv.qemu_caps(argv_def), paths)

    process = QemuProcess(dom.name, build, str(dirs.run))
    process.paths = RunPaths(run_dir=str(isolation.make_run_dir(drv, dom.name)), monitor=str(dirs.monitor_path(dom.name)),
                             log=str(dirs.log_path(dom.name)), tap_fds=tap_fds,
                             incoming_fd=incoming_fd)
    if incoming_fd is not None:
        process.pass_fds = (incoming_fd,)
    process.preexec = isolation.preexec_of(conf)
    if live is not None:
        # recorded before the spawn (pid 0: reattach looks for the QEMU by its command
        # line) and again the moment the pid is known
        dom_id = int(live.node.get("id", "-1"))
        monitor = str(dirs.monitor_path(dom.name))
        _save_starting(drv, dom, live, 0, 0, monitor, dom_id)
        process.on_spawned = lambda pid: _save_starting(
            drv, dom, live, pid, state_dir.process_start_time(pid) or 0, monitor, dom_id)
    try:
        process.start(paused=True)
    except libvirtError:
        state_dir.delete_status(dirs, dom.name)
        raise
    except OSError as err:
        state_dir.delete_status(dirs, dom.name)
        raise error(VIR_ERR_INTERNAL_ERROR, f"cannot start QEMU: {err}",
                    domain=VIR_FROM_QEMU) from err
    rt = DomainRuntime.for_process(process)
    rt.disk_def, rt.taps = argv_def, list(taps)
    subscribe(process.monitor, drv.event_callback(dom.uuid, rt))
    rt.watch(drv.exit_callback(dom.uuid))
    return rt


@contextlib.contextmanager
def failed_start(dom: "DomainObj") -> Iterator[None]:
    """A start that fails leaves the domain shut off with reason ``failed`` (libvirt's)."""
    try:
        yield
    except Exception:
        if not dom.active:
            dom.set_state(S.SHUTOFF, ShutoffReason.FAILED)
        raise


def start_failure(rt: DomainRuntime, err: BaseException) -> libvirtError:
    """libvirt-style report of a start that failed after the spawn."""
    said = read_log_tail(rt.log_path) or ""
    cause = err.get_error_message() if isinstance(err, libvirtError) else str(err)
    return error(VIR_ERR_INTERNAL_ERROR,
                 f"{cause}" + (f": {said}" if said else "") + "\ncommand line: "
                 + shlex.join(rt.argv), domain=VIR_FROM_QEMU)


def abort_launch(drv: "QemuDriverState", dom: "DomainObj", rt: DomainRuntime) -> None:
    """Kill what a failed start left behind and remove its run-dir files."""
    rt.finished = True
    rt.stop_reason = ShutoffReason.FAILED
    if rt.process is not None:
        try:
            rt.process.destroy(grace=1.0)
        except libvirtError as err:
            log.error("domain '%s': cleaning up a failed start: %s", dom.name, err)
    rt.close()
    release_host(drv, dom, rt)
    state_dir.delete_status(drv.dirs, dom.name)


def release_host(drv: "QemuDriverState", dom: "DomainObj", rt: DomainRuntime) -> None:
    """Undo what the start did on the host: the NICs' taps (those we plugged, or
    those the live XML records after a reattach), the files' labels, the cgroup."""
    taps = rt.taps or (peers.recorded_taps(dom.live_def) if dom.live_def is not None else [])
    rt.taps = []
    peers.unplug_taps(drv.network, taps)
    isolation.release(drv, dom.name, dom.uuid)


def prepare_live(drv: "QemuDriverState", dom: "DomainObj", live: Any) -> tuple[Any, int]:
    """What every boot and restore of ``live`` does first: its disks made ready, a
    domain id and device aliases; returns the definition QEMU is given and the id."""
    disk_def = prepare_disks(drv, dom, live)
    dom_id = drv.domains.next_id()
    live.node.set("id", str(dom_id))
    assign_aliases(live)
    if disk_def is not live:
        assign_aliases(disk_def)          # the same names in what QEMU is given
    return disk_def, dom_id


def start(drv: "QemuDriverState", dom: "DomainObj", flags: int,
          live: Any = None, reason: int = RunningReason.BOOTED,
          detail: int = n.STARTED_BOOTED, quiet_pause: bool = False) -> None:
    """Boot ``dom`` (its persistent definition unless ``live`` is given)."""
    if dom.active:
        raise error(VIR_ERR_OPERATION_INVALID, "domain is already running", domain=VIR_FROM_QEMU)
    if live is None:
        live = dom.persistent_def.copy()
    check_accel(drv, live)
    with failed_start(dom):
        disk_def, dom_id = prepare_live(drv, dom, live)
        rt = launch(drv, dom, live, disk_def=disk_def)
    paused = bool(flags & n.START_PAUSED)
    try:
        save_starting_status(drv, dom, rt, live, dom_id)
        if not paused:
            rt.monitor.execute("cont")
    except Exception as err:
        abort_launch(drv, dom, rt)
        dom.set_state(S.SHUTOFF, ShutoffReason.FAILED)
        raise start_failure(rt, err) from err
    drv.runtimes[dom.uuid] = rt
    dom.mark_started(dom_id, live)
    note_consoles(drv, dom, rt)
    record_vnc_ports(rt.monitor, live, dom.name)     # autoport VNC: the real port
    if not paused and detail == n.STARTED_BOOTED:
        # libvirt reports QEMU's RESUME (the initial ``cont``) before STARTED
        lifecycle_event(drv, dom, E.RESUMED, n.RESUMED_UNPAUSED)
    lifecycle_event(drv, dom, E.STARTED, detail)
    if paused and quiet_pause:      # a step inside a larger operation (snapshot revert)
        dom.set_state(S.PAUSED, PausedReason.FROM_SNAPSHOT)
    elif paused:
        dom.set_state(S.PAUSED, PausedReason.USER)
        lifecycle_event(drv, dom, E.SUSPENDED, n.SUSPENDED_PAUSED)
    else:
        dom.set_state(S.RUNNING, reason)
    save_status(drv, dom)


def note_consoles(drv: "QemuDriverState", dom: "DomainObj", rt: DomainRuntime) -> None:
    try:
        console.record_pty_paths(drv, dom, rt)
    except libvirtError as err:
        log.warning("domain '%s': cannot read its pty paths: %s", dom.name, err)


# --- stopping --------------------------------------------------------------------------
def finish_stop(drv: "QemuDriverState", dom: "DomainObj", rt: DomainRuntime,
                reason: int, detail: int) -> None:
    """The process is gone (or going): forget it, record why, tell subscribers.

    Idempotent: whichever of the flow or the exit watcher comes second does nothing.
    """
    if rt.finished or drv.runtimes.get(dom.uuid) is not rt:
        rt.finished = True
        return
    rt.finished = True
    drv.runtimes.pop(dom.uuid, None)
    session = drv.consoles.pop(dom.uuid, None)
    if session is not None:
        session.hangup()
    rt.close()
    release_host(drv, dom, rt)
    state_dir.delete_status(drv.dirs, dom.name)
    dom.set_state(S.SHUTOFF, reason)
    lifecycle_event(drv, dom, E.STOPPED, detail)
    dom.mark_stopped()
    if not dom.persistent:
        drv.domains.remove(dom)


def terminate(rt: DomainRuntime, graceful: bool) -> None:
    """SIGTERM, then SIGKILL after the grace period (unless ``graceful``)."""
    rt.kill(signal.SIGTERM)
    if rt.wait_exit(DESTROY_GRACE_S):
        return
    if graceful:
        raise error(VIR_ERR_OPERATION_FAILED,
                    "failed to kill qemu process with SIGTERM", domain=VIR_FROM_QEMU)
    rt.kill(signal.SIGKILL)
    if not rt.wait_exit(DESTROY_GRACE_S):
        raise error(VIR_ERR_SYSTEM_ERROR, f"Failed to terminate process {rt.pid} with SIGKILL",
                    domain=VIR_FROM_QEMU)


def destroy(drv: "QemuDriverState", dom: "DomainObj", flags: int = 0,
            reason: int = ShutoffReason.DESTROYED,
            detail: int = n.STOPPED_DESTROYED) -> None:
    require_active(dom)
    rt = drv.runtimes.get(dom.uuid)
    if rt is None:          # active without a process: only bookkeeping left
        isolation.release(drv, dom.name, dom.uuid)
        dom.set_state(S.SHUTOFF, reason)
        lifecycle_event(drv, dom, E.STOPPED, detail)
        dom.mark_stopped()
        return
    rt.stop_reason = reason
    terminate(rt, graceful=bool(flags & 1))
    if not rt.saw_shutdown and not rt.finished:
        # QEMU answers SIGTERM with a SHUTDOWN event (host); libvirt reports it
        lifecycle_event(drv, dom, E.SHUTDOWN, SHUTDOWN_HOST)
    finish_stop(drv, dom, rt, reason, detail)


def shutdown(drv: "QemuDriverState", dom: "DomainObj", flags: int = 0) -> None:
    """Ask the guest to power off: through its agent (``GUEST_AGENT``, or by default
    when one is configured) or ACPI; completion arrives as QMP SHUTDOWN + exit."""
    if not dom.active:
        raise error(VIR_ERR_OPERATION_INVALID, "domain is not running", domain=VIR_FROM_QEMU)
    rt = runtime_of(drv, dom)
    rt.fake_reboot = False
    if not _through_agent(drv, dom, flags, "powerdown"):
        rt.monitor.execute("system_powerdown")


def reboot(drv: "QemuDriverState", dom: "DomainObj", flags: int = 0) -> None:
    """Through the agent (the guest reboots itself), or ACPI power-down, then reset
    and continue instead of exiting (libvirt's fake reboot)."""
    require_active(dom)
    rt = runtime_of(drv, dom)
    if _through_agent(drv, dom, flags, "reboot"):
        return
    rt.fake_reboot = True
    rt.monitor.execute("system_powerdown")


def _through_agent(drv: "QemuDriverState", dom: "DomainObj", flags: int, mode: str) -> bool:
    """libvirt's choice: the agent when asked (``GUEST_AGENT``) or, with no flag,
    when a channel is configured; with no flag or with ``ACPI_POWER_BTN`` too, an
    agent failure falls back to ACPI. True when the agent took the request."""
    acpi, want_agent = flags & 1, flags & 2
    path = agent.channel_path(dom.live_def, str(isolation.domain_run_dir(drv, dom.name)))
    if not want_agent and (acpi or path is None):
        return False
    forced = want_agent and not acpi
    try:
        if path is None:
            raise agent.not_configured()
        agent.shutdown(path, mode)
    except libvirtError as err:
        if forced:
            raise
        log.info("domain '%s': guest agent %s failed, using ACPI: %s", dom.name, mode, err)
        return False
    return True


def reset(drv: "QemuDriverState", dom: "DomainObj") -> None:
    require_active(dom)
    runtime_of(drv, dom).monitor.execute("system_reset")


def suspend(drv: "QemuDriverState", dom: "DomainObj") -> None:
    require_active(dom)
    if dom.state == S.PAUSED:
        return
    runtime_of(drv, dom).monitor.execute("stop")
    dom.set_state(S.PAUSED, PausedReason.USER)
    lifecycle_event(drv, dom, E.SUSPENDED, n.SUSPENDED_PAUSED)
    save_status(drv, dom)


def resume(drv: "QemuDriverState", dom: "DomainObj") -> None:
    require_active(dom)
    if dom.state == S.PMSUSPENDED:
        raise error(VIR_ERR_OPERATION_INVALID, "domain is pmsuspended", domain=VIR_FROM_QEMU)
    if dom.state in (S.RUNNING, S.BLOCKED):
        raise error(VIR_ERR_OPERATION_INVALID, "domain is already running",
                    domain=VIR_FROM_QEMU)
    runtime_of(drv, dom).monitor.execute("cont")
    dom.set_state(S.RUNNING, RunningReason.UNPAUSED)
    lifecycle_event(drv, dom, E.RESUMED, n.RESUMED_UNPAUSED)
    save_status(drv, dom)


def runtime_of(drv: "QemuDriverState", dom: "DomainObj") -> DomainRuntime:
    rt = drv.runtimes.get(dom.uuid)
    if rt is None or rt.monitor is None:
        raise error(VIR_ERR_OPERATION_INVALID, "QEMU monitor is not available for domain "
                    f"'{dom.name}'", domain=VIR_FROM_QEMU)
    return rt


# --- things QEMU does by itself ----------------------------------------------------------
def handle_qmp_event(drv: "QemuDriverState", dom: "DomainObj", rt: DomainRuntime,
                     name: str, data: dict) -> None:
    """React to one QMP event (on the driver's worker, under its lock)."""
    if rt.finished or drv.runtimes.get(dom.uuid) is not rt:
        return
    if name == "SHUTDOWN":
        _on_shutdown(drv, dom, rt, data)
    elif name == "RESET":
        drv.events.queue(n.EVENT_ID_REBOOT, drv.ref(dom))
    elif name == "DEVICE_DELETED":
        drv.device_deleted(dom, data)
    elif name == "GUEST_PANICKED":
        _on_panic(drv, dom, rt, data)
    elif name == "BALLOON_CHANGE" and "actual" in data and dom.live_def is not None:
        # what the guest really gave back (libvirt keeps it as the current memory)
        dom.live_def.current_memory_kib = int(data["actual"]) // 1024
        save_status(drv, dom)
        drv.events.queue(EVENT_ID_BALLOON_CHANGE, drv.ref(dom), int(data["actual"]) // 1024)


def _on_shutdown(drv: "QemuDriverState", dom: "DomainObj", rt: DomainRuntime,
                 data: dict) -> None:
    if rt.stop_reason is not None:      # our own SIGTERM makes QEMU say SHUTDOWN too
        return
    reason = data.get("reason", "")
    action_of = "on_reboot" if reason == "guest-reset" else "on_poweroff"
    action = (dom.live_def.node.findtext(action_of) or "destroy").strip()
    if rt.fake_reboot:
        # libvirt's fake reboot is invisible: no lifecycle event, the state stays
        rt.fake_reboot = False
        _reset_and_continue(dom, rt)
        return
    rt.saw_shutdown = True
    guest = data.get("guest")
    detail = SHUTDOWN_FINISHED if guest is None else (SHUTDOWN_GUEST if guest else SHUTDOWN_HOST)
    lifecycle_event(drv, dom, E.SHUTDOWN, detail)
    if action in ("restart", "rename-restart"):
        if _reset_and_continue(dom, rt):
            rt.saw_shutdown = False
            dom.set_state(S.RUNNING, RunningReason.BOOTED)
            lifecycle_event(drv, dom, E.RESUMED, n.RESUMED_UNPAUSED)
            save_status(drv, dom)
        return
    dom.set_state(S.SHUTDOWN, SHUTDOWN_REASON_USER)
    if action == "preserve":
        save_status(drv, dom)
        return
    rt.stop_reason = ShutoffReason.SHUTDOWN
    rt.kill(signal.SIGTERM)   # the exit watcher completes the stop


#: VIR_DOMAIN_CRASHED_PANICKED, VIR_DOMAIN_EVENT_CRASHED_PANICKED
CRASHED_PANICKED, EVENT_CRASHED_PANICKED = 1, 0


def crash_action(ddef: Any) -> str:
    return (ddef.node.findtext("on_crash") or "destroy").strip()


def _on_panic(drv: "QemuDriverState", dom: "DomainObj", rt: DomainRuntime,
              data: dict) -> None:
    """The guest panicked (pvpanic; QEMU paused it, as ``-no-shutdown`` asks):
    crashed(panicked), then ``on_crash`` as libvirt's processGuestPanicEvent."""
    if rt.stop_reason is not None:
        return
    info = data.get("info")
    log.warning("domain '%s': guest panicked%s", dom.name, f": {info}" if info else "")
    dom.set_state(S.CRASHED, CRASHED_PANICKED)
    lifecycle_event(drv, dom, E.CRASHED, EVENT_CRASHED_PANICKED)
    save_status(drv, dom)
    action = crash_action(dom.live_def)
    if action in ("restart", "rename-restart", "coredump-restart"):
        if _reset_and_continue(dom, rt):
            dom.set_state(S.RUNNING, RunningReason.CRASHED)
            lifecycle_event(drv, dom, E.RESUMED, n.RESUMED_UNPAUSED)
            save_status(drv, dom)
        return
    if action == "preserve":
        return
    rt.stop_reason, rt.stop_detail = ShutoffReason.CRASHED, n.STOPPED_CRASHED
    rt.kill(signal.SIGTERM)   # the exit watcher completes the stop


def _reset_and_continue(dom: "DomainObj", rt: DomainRuntime) -> bool:
    try:
        rt.monitor.execute("system_reset")
        rt.monitor.execute("cont")   # -no-shutdown left it paused
    except libvirtError as err:
        log.error("domain '%s': reboot after power-off failed: %s", dom.name, err)
        return False
    return True


def handle_process_exit(drv: "QemuDriverState", dom: "DomainObj", rt: DomainRuntime) -> None:
    """QEMU exited: shut off for the reason we know, else crashed (no SHUTDOWN seen)."""
    if rt.finished or drv.runtimes.get(dom.uuid) is not rt:
        rt.finished = True
        return
    if rt.stop_reason is not None:
        reason = rt.stop_reason
    elif rt.saw_shutdown:
        reason = ShutoffReason.SHUTDOWN
    else:
        reason = ShutoffReason.CRASHED
        log.warning("domain '%s': QEMU exited without a SHUTDOWN event: %s", dom.name,
                    read_log_tail(rt.log_path, limit=500))
    usual = {ShutoffReason.SHUTDOWN: n.STOPPED_SHUTDOWN,
             ShutoffReason.DESTROYED: n.STOPPED_DESTROYED,
             ShutoffReason.SAVED: n.STOPPED_SAVED,
             ShutoffReason.CRASHED: n.STOPPED_FAILED}.get(ShutoffReason(reason),
                                                          n.STOPPED_SHUTDOWN)
    detail = rt.stop_detail if rt.stop_detail is not None else usual
    finish_stop(drv, dom, rt, reason, detail)
