"""Saving a running domain to a file and starting it again from one.

Migration to a file (QEMU 7.2 has no ``file:`` URI): the image starts with a
header (magic ``PyvirtQemuSave1\n``, XML length, "was running", data offset,
the domain XML) padded to 4 KiB, then QEMU's migration stream. We open the
file ourselves and hand QEMU the descriptor, positioned at the data offset, as
libvirt does: over QMP (``getfd`` with SCM_RIGHTS, then ``migrate fd:NAME``)
to save, and inherited at exec (``-incoming fd:N``) to restore. QEMU opens
nothing and spawns nothing, so ``-sandbox on,spawn=deny`` stays strict. Restore
waits for the migration to complete and continues the guest if it was
running. Managed save is the same image at ``LIB/save/NAME.save``.
"""

from __future__ import annotations

import os
import struct
import time
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu.lifecycle import (
    RESUMED_FROM_RESTORE, SUSPENDED_RESTORED, abort_launch, check_accel,
    failed_start, prepare_live, launch, lifecycle_event, note_consoles,
    finish_stop, require_active, runtime_of, save_status, start_failure, terminate,
)
from pyvirt.drivers.qemu.runtime import DomainRuntime
from pyvirt.errors import (
    VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID, VIR_ERR_SYSTEM_ERROR, VIR_FROM_QEMU,
    error, libvirtError,
)
from pyvirt.objects import numbers as n
from pyvirt.objects.numbers import (
    DomainEvent as E, DomainState as S, PausedReason, RunningReason, ShutoffReason,
)

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.driver_state import QemuDriverState
    from pyvirt.objects.domain_obj import DomainObj


SAVE_MAGIC = b"PyvirtQemuSave1\n"
_SAVE_HEAD = struct.Struct(">16sIII")          # magic, xml length, was running, data offset
_SAVE_ALIGN = 4096


def write_save_header(path: str, xml: str, running: bool) -> int:
    """Write the image header (domain XML, run state); returns where QEMU's data starts."""
    body = xml.encode()
    offset = -(-(_SAVE_HEAD.size + len(body)) // _SAVE_ALIGN) * _SAVE_ALIGN
    head = _SAVE_HEAD.pack(SAVE_MAGIC, len(body), int(running), offset) + body
    with open(path, "wb") as handle:
        handle.write(head.ljust(offset, b"\0"))
        handle.flush()
        os.fsync(handle.fileno())
    return offset


def read_save_header(path: str) -> tuple[str, bool, int]:
    """(domain XML, was running, data offset) of a save image; libvirt's errors if bad."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SAVE_HEAD.size)
            if len(head) < _SAVE_HEAD.size:
                raise error(VIR_ERR_OPERATION_FAILED, "failed to read qemu header",
                            domain=VIR_FROM_QEMU)
            magic, length, running, offset = _SAVE_HEAD.unpack(head)
            if magic != SAVE_MAGIC:
                raise error(VIR_ERR_OPERATION_FAILED, "image magic is incorrect",
                            domain=VIR_FROM_QEMU)
            xml = handle.read(length).decode()
    except OSError as err:
        raise error(VIR_ERR_SYSTEM_ERROR, f"Failed to open file '{path}': {err.strerror}",
                    domain=VIR_FROM_QEMU) from err
    return xml, bool(running), offset



def migrate_to_file(drv: "QemuDriverState", dom: "DomainObj", path: str) -> bool:
    """Pause, stream the domain's state after the header at ``path``; True if it ran."""
    rt = runtime_of(drv, dom)
    was_running = dom.state in (S.RUNNING, S.BLOCKED)
    if was_running:
        rt.monitor.execute("stop")
        dom.set_state(S.PAUSED, PausedReason.SAVE)
        lifecycle_event(drv, dom, E.SUSPENDED, n.SUSPENDED_PAUSED)
    try:
        live = dom.live_def.copy()
        live.node.attrib.pop("id", None)
        offset = write_save_header(path, live.to_xml(), was_running)
        stream_to_file(rt, path, offset)
    except Exception:
        if was_running:
            try:
                rt.monitor.execute("cont")
                dom.set_state(S.RUNNING, RunningReason.SAVE_CANCELED)
            except libvirtError:
                pass
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    return was_running


#: the name QEMU knows the save file's descriptor by (``getfd``)
MIGRATE_FD_NAME = "migrate"


def stream_to_file(rt: DomainRuntime, path: str, offset: int) -> None:
    """QEMU writes its migration stream into ``path`` from ``offset`` on, through a
    descriptor we opened and passed; the data is on disk when this returns."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as err:
        raise error(VIR_ERR_SYSTEM_ERROR, f"Failed to open file '{path}': {err.strerror}",
                    domain=VIR_FROM_QEMU) from err
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        rt.monitor.pass_fd(MIGRATE_FD_NAME, fd)
        rt.monitor.execute("migrate", {"uri": f"fd:{MIGRATE_FD_NAME}"})
        wait_migration(rt)
        os.fsync(fd)
    finally:
        os.close(fd)


def open_for_restore(path: str, offset: int) -> int:
    """A descriptor on the save image positioned at QEMU's data (``-incoming fd:N``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise error(VIR_ERR_SYSTEM_ERROR, f"Failed to open file '{path}': {err.strerror}",
                    domain=VIR_FROM_QEMU) from err
    os.lseek(fd, offset, os.SEEK_SET)
    return fd


def wait_migration(rt: DomainRuntime, timeout: float = 120.0) -> None:
    """Wait for the outgoing or incoming migration to end; its error if it failed."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        info = rt.monitor.execute("query-migrate")
        status = info.get("status", "none")
        if status == "completed":
            return
        if status in ("failed", "cancelled"):
            raise error(VIR_ERR_OPERATION_FAILED,
                        f"migration to file failed: {info.get('error-desc', status)}",
                        domain=VIR_FROM_QEMU)
        if time.monotonic() > deadline:
            raise error(VIR_ERR_OPERATION_FAILED, "migration to file timed out",
                        domain=VIR_FROM_QEMU)
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def save(drv: "QemuDriverState", dom: "DomainObj", path: str) -> None:
    """Save the running domain to ``path`` and stop it (reason saved)."""
    require_active(dom)
    rt = runtime_of(drv, dom)
    migrate_to_file(drv, dom, path)
    rt.stop_reason = ShutoffReason.SAVED
    terminate(rt, graceful=False)
    finish_stop(drv, dom, rt, ShutoffReason.SAVED, n.STOPPED_SAVED)


def restore(drv: "QemuDriverState", dom: "DomainObj", path: str, live: Any,
            was_running: bool, offset: int, flags: int) -> None:
    """Start ``dom`` from a save image: ``-incoming`` from the file, then resume."""
    if dom.active:
        raise error(VIR_ERR_OPERATION_INVALID, "domain is already running", domain=VIR_FROM_QEMU)
    check_accel(drv, live)
    run = (was_running or flags & n.SAVE_RUNNING) and not flags & n.SAVE_PAUSED
    with failed_start(dom):
        disk_def, dom_id = prepare_live(drv, dom, live)
        incoming_fd = open_for_restore(path, offset)
        try:
            rt = launch(drv, dom, live, incoming_fd=incoming_fd, disk_def=disk_def)
        finally:
            os.close(incoming_fd)        # QEMU holds its own copy
        try:
            wait_migration(rt)
            if run:
                rt.monitor.execute("cont")
        except Exception as err:
            abort_launch(drv, dom, rt)
            raise start_failure(rt, err) from err
    drv.runtimes[dom.uuid] = rt
    dom.mark_started(dom_id, live)
    note_consoles(drv, dom, rt)
    lifecycle_event(drv, dom, E.STARTED, n.STARTED_RESTORED)
    if run:
        dom.set_state(S.RUNNING, RunningReason.RESTORED)
        lifecycle_event(drv, dom, E.RESUMED, RESUMED_FROM_RESTORE)
    else:
        dom.set_state(S.PAUSED, PausedReason.MIGRATION)
        lifecycle_event(drv, dom, E.SUSPENDED, SUSPENDED_RESTORED)
    save_status(drv, dom)
