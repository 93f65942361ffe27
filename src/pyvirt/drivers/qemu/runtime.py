"""What the driver holds for one running QEMU: the process and its monitor.

:class:`DomainRuntime` covers both ways a driver can hold a QEMU:

* **started here**: a :class:`~pyvirt.drivers.qemu.process.QemuProcess` (our
  child, exit seen through its pidfd on the shared loop thread);
* **re-found after a restart** (reattach): only a pid; we open a pidfd on it and
  watch it from a small thread, so its exit is seen at once too.

Either way the monitor is the groundwork's :class:`~pyvirt.drivers.qemu.monitor.Monitor`,
and the runtime remembers what the flows need between events: why we are
stopping it, whether a reboot is faked through a power-down, whether SHUTDOWN
was seen, which device removals wait for DEVICE_DELETED.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from pyvirt.drivers.qemu.monitor import Monitor
from pyvirt.drivers.qemu.state_dir import process_start_time

log = logging.getLogger(__name__)

#: QMP event callback the driver gives: (event name, data). Runs on the loop thread.
EventCallback = Callable[[str, dict], None]


def open_monitor(path: str, name: str, on_event: EventCallback,
                 timeout: float = 10.0) -> Monitor:
    """Connect to an already running QEMU's QMP socket (reattach)."""
    mon = Monitor.open(path, name, timeout=timeout)
    subscribe(mon, on_event)
    return mon


def subscribe(mon: Monitor, on_event: EventCallback) -> None:
    mon.add_event_callback(lambda name, data, _stamp: on_event(name, data))


@dataclass
class DomainRuntime:
    """One running QEMU as the driver sees it."""

    pid: int
    pid_start: int
    monitor_path: str
    log_path: str
    argv: list[str] = field(default_factory=list)
    process: Any = None                 # QemuProcess when QEMU is our child
    monitor: Monitor | None = None
    pidfd: int = -1                     # only for a re-found (non-child) process
    #: why we are stopping it (a ShutoffReason), None when the stop is not ours
    stop_reason: int | None = None
    #: the STOPPED event's detail when it is not the reason's usual one (a panic)
    stop_detail: int | None = None
    #: a reboot in progress, done as power-down then reset (libvirt's fake reboot)
    fake_reboot: bool = False
    saw_shutdown: bool = False
    finished: bool = False
    #: the definition QEMU was started from, volume disks resolved to paths
    disk_def: Any = None
    #: the taps we plugged for its network/bridge NICs (removed when it stops)
    taps: list[str] = field(default_factory=list)
    #: the uid:gid QEMU runs as (a security.seclabel.Owner; None: unconfined), for
    #: labelling what is hot-plugged
    owner: Any = None
    #: device alias -> (what to release, its name) for detaches waiting on DEVICE_DELETED
    pending_removals: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    _deleted: set[str] = field(default_factory=set)
    _deleted_cond: threading.Condition = field(default_factory=threading.Condition)
    _exited: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def for_process(cls, process: Any) -> "DomainRuntime":
        return cls(pid=process.pid, pid_start=process_start_time(process.pid) or 0,
                   monitor_path=process.paths.monitor, log_path=process.paths.log,
                   argv=list(process.argv), process=process, monitor=process.monitor)

    # --- the process ---------------------------------------------------------
    def watch(self, on_exit: Callable[["DomainRuntime"], None]) -> None:
        """Call ``on_exit(self)`` (from another thread) as soon as QEMU exits."""
        if self.process is not None:
            def exited(_code: int) -> None:
                self._exited.set()
                on_exit(self)
            self.process.add_exit_callback(exited)
            return
        if self.pidfd < 0:
            self.pidfd = os.pidfd_open(self.pid)

        def wait() -> None:
            poller = select.poll()
            poller.register(self.pidfd, select.POLLIN)
            while not poller.poll():
                pass
            self._exited.set()
            on_exit(self)

        threading.Thread(target=wait, name=f"qemu-{self.pid}", daemon=True).start()

    @property
    def exit_status(self) -> int | None:
        return self.process.returncode if self.process is not None else None

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.running
        if self._exited.is_set():
            return False
        start = process_start_time(self.pid)
        return start is not None and (not self.pid_start or start == self.pid_start) \
            and not _is_zombie(self.pid)

    def wait_exit(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for QEMU to exit; True when it did."""
        if self.process is not None:
            return self.process.wait(timeout) is not None
        if self.pidfd < 0:
            return not self.alive()
        return bool(select.select([self.pidfd], [], [], max(timeout, 0))[0])

    def kill(self, sig: int) -> None:
        if self.monitor is not None:
            self.monitor.expect_eof()
        try:
            if self.process is not None:
                if self.process.running:
                    self.process.popen.send_signal(sig)
            elif self.pidfd >= 0:
                signal.pidfd_send_signal(self.pidfd, sig)
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        """Drop the monitor (the process itself is left alone)."""
        if self.monitor is not None:
            try:
                self.monitor.close()
            except Exception:  # noqa: BLE001 - EOF noise after QEMU went away
                pass
            self.monitor = None
        # a re-found process's pidfd stays with its watcher thread until the exit

    # --- DEVICE_DELETED, seen from the loop thread without the driver lock ---------
    def note_deleted(self, alias: str) -> None:
        with self._deleted_cond:
            self._deleted.add(alias)
            self._deleted_cond.notify_all()

    def forget_deleted(self, alias: str) -> None:
        with self._deleted_cond:
            self._deleted.discard(alias)

    def wait_deleted(self, alias: str, timeout: float) -> bool:
        with self._deleted_cond:
            return self._deleted_cond.wait_for(lambda: alias in self._deleted, timeout)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True
