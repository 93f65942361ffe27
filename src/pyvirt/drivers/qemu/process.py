"""Launching QEMU as a template with guaranteed cleanup.

``QemuProcess.start()`` runs the steps in order::

    prepare   run dir, log file (command line written first), QMP listening socket
    spawn     Popen(argv) with -S (paused), the socket passed as an fd; exit watched
              through a pidfd on the shared loop thread (seen at once, never polled)
    connect   QMP greeting + negotiation, racing the process exit
    finish    ``cont`` (unless asked to stay paused) → running

A failure in any step kills what was started, reaps it, removes the socket and
raises ``libvirtError`` carrying QEMU's own words (the tail of its log) and the
command line (``exc.argv``, ``exc.log_tail`` too). ``shutdown()`` asks the guest
(``system_powerdown``) and waits for the exit; ``destroy()`` sends SIGTERM, then
SIGKILL after a grace period. QEMU stays our child, so its exit is seen at once.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import shlex
import signal
import socket
import subprocess
import threading
from typing import Callable, Sequence

from pyvirt.drivers.qemu.loop import LoopThread
from pyvirt.drivers.qemu.monitor import Monitor
from pyvirt.drivers.qemu.paths import RunPaths
from pyvirt.errors import (VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_FAILED,
                           VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, error, libvirtError)

log = logging.getLogger(__name__)

#: Builds QEMU's argv once the run paths (and the monitor fd) are known.
ArgvBuilder = Callable[[RunPaths], Sequence[str]]
#: ``callback(returncode)``, on the loop thread, once QEMU has exited and been reaped.
ExitCallback = Callable[[int], None]

LOG_TAIL_BYTES = 4096


def read_log_tail(path: str, offset: int = 0, limit: int = LOG_TAIL_BYTES) -> str:
    """The last ``limit`` bytes QEMU wrote to its log after ``offset``, stripped."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(offset, size - limit))
            return fh.read().decode(errors="replace").strip()
    except OSError:
        return ""


class QemuProcess:
    """One QEMU process: start, watch, stop. Not reusable after it exits."""

    def __init__(self, name: str, argv: ArgvBuilder | Sequence[str], run_dir: str, *,
                 loop: LoopThread | None = None, monitor_timeout: float = 30.0,
                 pass_fds: Sequence[int] = ()) -> None:
        self.name = name
        self.pass_fds = tuple(pass_fds)   # more fds QEMU inherits (besides paths.tap_fds)
        #: run in the forked child before exec (cgroup, uid/gid, no new privileges)
        self.preexec: Callable[[], None] | None = None
        #: called with the pid as soon as QEMU exists, before the QMP handshake (the
        #: driver records it there, so a daemon dying mid-start leaves a trace)
        self.on_spawned: Callable[[int], None] | None = None
        self._argv_source = argv
        self.paths = RunPaths.under(run_dir)
        self.loop = loop or LoopThread.shared()
        self.monitor_timeout = monitor_timeout
        self.argv: list[str] = []
        self.popen: subprocess.Popen | None = None
        self.monitor: Monitor | None = None
        self.returncode: int | None = None
        self._log_offset = 0
        self._exited = threading.Event()
        self._exit_future: asyncio.Future | None = None
        self._exit_callbacks: list[ExitCallback] = []
        self._pidfd: int | None = None

    # --- state ------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def running(self) -> bool:
        return self.popen is not None and not self._exited.is_set()

    def add_exit_callback(self, callback: ExitCallback) -> None:
        """Call ``callback(returncode)`` when QEMU exits (at once if it has)."""
        self._exit_callbacks.append(callback)
        if self._exited.is_set():
            callback(self.returncode if self.returncode is not None else -1)

    # --- start ------------------------------------------------------------
    def start(self, paused: bool = False) -> "QemuProcess":
        """prepare → spawn (paused) → connect QMP → ``cont``; clean up on any failure."""
        if self.popen is not None:
            raise error(VIR_ERR_OPERATION_INVALID, "QEMU process was already started",
                        domain=VIR_FROM_QEMU)
        listener: socket.socket | None = None
        try:
            listener = self._prepare()
            self._spawn(listener)
            listener.close()
            listener = None
            self._connect()
            if not paused:
                self.monitor.execute("cont")  # type: ignore[union-attr]
        except BaseException as err:
            if listener is not None:
                listener.close()
            self._kill_and_reap()
            self._cleanup()
            if isinstance(err, libvirtError) and self.popen is not None:
                raise self._launch_error(err) from err
            raise
        return self

    def _prepare(self) -> socket.socket:
        os.makedirs(self.paths.run_dir, mode=0o700, exist_ok=True)
        if os.path.exists(self.paths.monitor):
            os.unlink(self.paths.monitor)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.paths.monitor)
        listener.listen(1)
        listener.set_inheritable(True)
        self.paths = self.paths.with_monitor_fd(listener.fileno())
        source = self._argv_source
        self.argv = list(source(self.paths) if callable(source) else source)
        with open(self.paths.log, "a", encoding="utf-8") as fh:
            stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
            fh.write(f"{stamp[:-3]}+0000: starting up pyvirt (domain {self.name})\n")
            fh.write(shlex.join(self.argv) + "\n")
            fh.flush()
            self._log_offset = fh.tell()
        return listener

    def _spawn(self, listener: socket.socket) -> None:
        logfh = open(self.paths.log, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=logfh, stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(), *self.paths.tap_fds, *self.pass_fds),
                start_new_session=True, close_fds=True, preexec_fn=self.preexec)
        except OSError as err:
            raise error(VIR_ERR_INTERNAL_ERROR,
                        f"cannot execute binary {self.argv[0]}: {err.strerror}",
                        domain=VIR_FROM_QEMU) from err
        except subprocess.SubprocessError as err:     # the preexec step failed
            raise error(VIR_ERR_INTERNAL_ERROR, "cannot set up the QEMU process "
                        f"(cgroup, mount namespace or identity): {err}",
                        domain=VIR_FROM_QEMU) from err
        finally:
            logfh.close()
        if self.on_spawned is not None:
            self.on_spawned(self.popen.pid)
        log.debug("spawned QEMU for %s, pid %d", self.name, self.popen.pid)
        self._pidfd = os.pidfd_open(self.popen.pid)
        self.loop.run(self._watch_exit(), 5, "watching the QEMU process")

    async def _watch_exit(self) -> None:
        loop = asyncio.get_running_loop()
        self._exit_future = loop.create_future()
        assert self._pidfd is not None
        loop.add_reader(self._pidfd, self._on_pidfd_readable)

    def _on_pidfd_readable(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._pidfd is not None and self.popen is not None
        loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = None
        self.returncode = self.popen.wait()
        log.debug("QEMU for %s exited with %s", self.name, self.returncode)
        if self._exit_future is not None and not self._exit_future.done():
            self._exit_future.set_result(self.returncode)
        self._exited.set()
        for callback in list(self._exit_callbacks):
            try:
                callback(self.returncode)
            except Exception:  # noqa: BLE001
                log.exception("QEMU exit callback failed")

    def _connect(self) -> None:
        self.monitor = Monitor.open(self.paths.monitor, self.name, loop=self.loop,
                                    timeout=self.monitor_timeout, abort=self._exit_future)

    def _launch_error(self, cause: libvirtError) -> libvirtError:
        tail = read_log_tail(self.paths.log, self._log_offset)
        cmdline = shlex.join(self.argv)
        if self.returncode is not None and tail:
            detail = f"process exited while connecting to monitor: {tail}"
        else:
            detail = f"{cause.get_error_message()}" + (f": {tail}" if tail else "")
        exc = error(VIR_ERR_INTERNAL_ERROR, f"{detail}\ncommand line: {cmdline}",
                    domain=VIR_FROM_QEMU)
        exc.argv = list(self.argv)          # type: ignore[attr-defined]
        exc.log_tail = tail                 # type: ignore[attr-defined]
        return exc

    # --- stop -------------------------------------------------------------
    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for QEMU to exit; its return code, or None on timeout."""
        if self.popen is None:
            return None
        self._exited.wait(timeout)
        return self.returncode

    def shutdown(self, timeout: float = 30.0) -> bool:
        """Press the power button and wait up to ``timeout`` s for the guest to go.

        The guest is gone at QEMU's SHUTDOWN event or its exit. Under
        ``-no-shutdown`` QEMU stays after the guest's power-off: it is then told
        to ``quit`` (what libvirt does for on_poweroff=destroy). True when QEMU
        has exited (everything is cleaned up); False when the guest ignored the
        request (QEMU still runs; the caller may ``destroy()``).
        """
        if not self.running:
            raise error(VIR_ERR_OPERATION_INVALID, "domain is not running",
                        domain=VIR_FROM_QEMU)
        mon = self.monitor
        assert mon is not None
        gone = threading.Event()
        sub = mon.add_event_callback(lambda *_: gone.set(), "SHUTDOWN")
        self.add_exit_callback(lambda _code: gone.set())
        try:
            mon.execute("system_powerdown")
            if not gone.wait(timeout):
                return False
        finally:
            mon.remove_event_callback(sub)
        if self.running and "-no-shutdown" in self.argv:
            mon.expect_eof()
            try:
                mon.execute("quit", timeout=5)
            except libvirtError:
                pass  # it is exiting anyway
        if self.wait(10) is None:
            self._kill_and_reap(grace=2.0)
        self._cleanup()
        return True

    def destroy(self, grace: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after ``grace`` s; always cleans up. Returns the exit code."""
        if self.monitor is not None:
            self.monitor.expect_eof()
        self._kill_and_reap(grace)
        self._cleanup()
        return self.returncode if self.returncode is not None else -1

    def _kill_and_reap(self, grace: float = 10.0) -> None:
        if self.popen is None or self._exited.is_set():
            return
        for sig, wait_s in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                self.popen.send_signal(sig)
            except ProcessLookupError:
                pass
            if self._pidfd is None and self._exit_future is None:
                # the watcher never started (spawn failed half-way): reap directly
                try:
                    self.returncode = self.popen.wait(wait_s)
                    self._exited.set()
                    return
                except subprocess.TimeoutExpired:
                    continue
            if self._exited.wait(wait_s):
                return
        raise error(VIR_ERR_OPERATION_FAILED,
                    f"Failed to terminate process {self.popen.pid} with SIGKILL",
                    domain=VIR_FROM_QEMU)

    def _cleanup(self) -> None:
        """Undo what start() set up on the host; safe to call more than once."""
        if self.monitor is not None:
            try:
                self.monitor.close()
            except libvirtError:
                pass
        try:
            os.unlink(self.paths.monitor)
        except FileNotFoundError:
            pass

    # --- context manager: a process never outlives its ``with`` block -------
    def __enter__(self) -> "QemuProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.running:
            self.destroy(grace=2.0)
        else:
            self._cleanup()
