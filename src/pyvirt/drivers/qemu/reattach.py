"""Finding the QEMUs a previous driver instance left running.

On start the driver reads every status file of its run directory and, for each:

* **alive** (the pid exists, is not a zombie, started when the status says, and
  its monitor answers): the domain becomes active again with its id, live
  definition and the run state QEMU reports (``query-status``), watched by a
  pidfd like a domain we started ourselves;
* **dead** (the process is gone, or its monitor cannot be reached: then it is
  killed): its run files are removed; a persistent domain shows shut off,
  reason ``crashed`` (libvirt's verdict for a ``-no-shutdown`` QEMU whose
  monitor is lost), a transient one is gone;
* **never fully started** (paused, reason starting up: the previous instance
  died inside a start): killed, shut off with reason ``daemon``, as libvirt;
* **corrupt** (unreadable or malformed): a logged error naming the file; the
  file is left for inspection, the domain (if defined) shows shut off, and
  nothing else is affected.
"""

from __future__ import annotations

import logging
import os
import select
import uuid as uuidlib
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu import isolation, lifecycle, peers, state_dir
from pyvirt.drivers.qemu.defaults import parse_definition
from pyvirt.drivers.qemu.graphics import record_vnc_ports
from pyvirt.drivers.qemu.runtime import DomainRuntime, open_monitor
from pyvirt.errors import libvirtError
from pyvirt.objects.domain_obj import DomainObj
from pyvirt.objects.numbers import (
    DomainState as S, PausedReason, RunningReason, ShutoffReason,
)

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.driver_state import QemuDriverState

log = logging.getLogger(__name__)

#: QEMU's run states that mean "paused" for libvirt, with the reason shown
_PAUSED_STATES = {"paused": PausedReason.USER, "prelaunch": PausedReason.STARTING_UP,
                  "inmigrate": PausedReason.MIGRATION, "postmigrate": PausedReason.MIGRATION,
                  "finish-migrate": PausedReason.MIGRATION, "save-vm": PausedReason.SAVE,
                  "restore-vm": PausedReason.SAVE, "io-error": PausedReason.IOERROR,
                  "watchdog": PausedReason.WATCHDOG, "shutdown": PausedReason.SHUTTING_DOWN,
                  "suspended": PausedReason.USER, "guest-panicked": PausedReason.CRASHED}


def reattach_all(drv: "QemuDriverState") -> None:
    """Reattach to, or reconcile, every domain with a status file (under drv.lock)."""
    records, corrupt = state_dir.load_statuses(drv.dirs)
    for path, problem in corrupt:
        log.error("ignoring corrupt status file %s: %s; the domain is treated as shut off",
                  path, problem)
    highest = 0
    for rec in records:
        try:
            if reattach_one(drv, rec):
                highest = max(highest, rec.dom_id)
        except Exception:  # noqa: BLE001 - one bad domain must not stop the others
            log.exception("failed to reattach to domain '%s'", rec.name)
    while highest and drv.domains.next_id() < highest:
        pass


def _pid_matches(rec: state_dir.StatusRecord) -> bool:
    start = state_dir.process_start_time(rec.pid)
    if start is None or (rec.pid_start and start != rec.pid_start):
        return False
    try:
        with open(f"/proc/{rec.pid}/stat") as handle:
            if handle.read().rsplit(")", 1)[-1].split()[0] == "Z":
                return False
    except OSError:
        return False
    return True


def reattach_one(drv: "QemuDriverState", rec: state_dir.StatusRecord) -> bool:
    """True when ``rec``'s QEMU is alive and under our control again."""
    live = parse_definition(rec.live_xml, ours=True)[0]
    uuid = uuidlib.UUID(live.uuid).bytes
    dom = drv.domains.find_by_uuid(uuid)
    if rec.pid == 0:                    # the daemon died around the spawn itself
        for pid in _unconfirmed_qemus(rec.monitor):
            log.warning("domain '%s': QEMU (pid %d) was not fully started; killing it",
                        rec.name, pid)
            _kill(pid)
        _forget(drv, rec.name, dom, live, ShutoffReason.DAEMON)
        return False
    if not _pid_matches(rec):
        log.warning("domain '%s': QEMU (pid %d) is gone; marking it shut off", rec.name,
                    rec.pid)
        _forget(drv, rec.name, dom, live)
        return False
    rt = DomainRuntime(pid=rec.pid, pid_start=rec.pid_start, monitor_path=rec.monitor,
                       log_path=str(drv.dirs.log_path(rec.name)))
    try:
        rt.pidfd = os.pidfd_open(rec.pid)
        rt.monitor = open_monitor(rec.monitor, rec.name, drv.event_callback(uuid, rt),
                                  timeout=5.0)
        status = rt.monitor.execute("query-status")
    except (libvirtError, OSError) as err:
        log.error("domain '%s': cannot reconnect to QEMU (pid %d): %s; killing it",
                  rec.name, rec.pid, err)
        rt.kill(9)
        rt.close()
        _forget(drv, rec.name, dom, live)
        return False
    state = _state_of(status, rec)
    if state == (S.PAUSED, PausedReason.STARTING_UP):
        log.warning("domain '%s': QEMU (pid %d) was not fully started; killing it",
                    rec.name, rec.pid)
        rt.kill(9)
        rt.wait_exit(5)
        rt.close()
        _forget(drv, rec.name, dom, live, ShutoffReason.DAEMON)
        return False
    if dom is None:
        dom = drv.domains.add(DomainObj(name=rec.name, uuid=uuid))
    dom.mark_started(rec.dom_id, live)
    live.node.set("id", str(rec.dom_id))
    dom.set_state(*state)
    drv.runtimes[uuid] = rt
    rt.disk_def = _resolved_disks(drv, live)
    rt.owner = isolation.owner_from_live(live)
    record_vnc_ports(rt.monitor, live, rec.name)
    rt.watch(drv.exit_callback(uuid))
    lifecycle.save_status(drv, dom)
    log.info("domain '%s': reattached to QEMU pid %d", rec.name, rec.pid)
    if status.get("status") == "shutdown":
        # the guest powered off while nobody watched (QEMU waits under -no-shutdown):
        # finish it as if the SHUTDOWN event had just come (on_poweroff), as libvirt does
        drv.post(lambda: lifecycle.handle_qmp_event(
            drv, dom, rt, "SHUTDOWN", {"guest": True, "reason": "guest-shutdown"}))
    return True


def _resolved_disks(drv: "QemuDriverState", live: Any) -> Any:
    """The running definition with volume disks on their paths (for the storage
    driver's "in use" check); the unresolved one if the storage cannot say now."""
    try:
        return peers.resolve_disks(drv.storage, live)
    except libvirtError as err:
        log.warning("domain '%s': cannot resolve its volume disks: %s", live.name,
                    err.get_error_message())
        return live


def _state_of(status: dict, rec: state_dir.StatusRecord) -> tuple[S, int]:
    """Our state from QEMU's run state, keeping the recorded reason when they agree."""
    recorded, reason = lifecycle.state_from_words(rec.state, rec.reason)
    qemu_state = status.get("status", "running")
    if status.get("running"):
        return (S.RUNNING, reason) if recorded == S.RUNNING else (S.RUNNING,
                                                                  RunningReason.UNKNOWN)
    if recorded in (S.PAUSED, S.SHUTDOWN):
        return recorded, reason
    return S.PAUSED, _PAUSED_STATES.get(qemu_state, PausedReason.UNKNOWN)


def _forget(drv: "QemuDriverState", name: str, dom: DomainObj | None,
            live: Any = None, reason: int = ShutoffReason.CRASHED) -> None:
    """A QEMU that is gone: its run files and the taps its live XML names go too;
    a persistent domain shows shut off with ``reason``."""
    if live is not None:
        peers.unplug_taps(drv.network, peers.recorded_taps(live))
        isolation.release(drv, name, uuidlib.UUID(live.uuid).bytes)
    state_dir.delete_status(drv.dirs, name)
    if dom is not None and not dom.persistent:
        drv.domains.remove(dom)
    if dom is not None:
        dom.mark_stopped()
        dom.set_state(S.SHUTOFF, reason)


def _unconfirmed_qemus(monitor: str) -> list[int]:
    """Processes holding the monitor socket bound at ``monitor``: the QEMU of a start
    whose pid never reached a status file (the socket is made before the spawn and
    handed to QEMU, so its inode in /proc/net/unix leads to that QEMU's fds)."""
    try:
        with open("/proc/net/unix") as handle:
            inodes = {f"socket:[{fields[6]}]" for fields in
                      (line.split() for line in handle.readlines()[1:])
                      if len(fields) >= 8 and fields[7] == monitor}
    except OSError:
        return []
    found = []
    for entry in os.listdir("/proc") if inodes else []:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}") in inodes:
                    found.append(int(entry))
                    break
            except OSError:
                continue
    return found


def _kill(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        return
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        select.select([fd], [], [], 5)          # readable once the process is gone
    finally:
        os.close(fd)
