"""dnsmasq for one virtual network: the process.

:class:`DnsmasqProcess` runs dnsmasq in the foreground as our child (a watcher
thread reaps it the moment it exits and reports an exit nobody asked for), or
adopts one a previous run of the driver left (found by its pid file and checked
by its command line); ``reload()`` sends SIGHUP, which makes dnsmasq re-read
the hosts files. The files themselves are built in :mod:`.dnsmasq_conf`, whose
names are re-exported here.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NETWORK, error
from pyvirt.network.dnsmasq_conf import (
    DnsmasqFiles, Lease, addnhosts_text, config_text, hostsfile_text, needs_dnsmasq,
    parse_leases,
)

log = logging.getLogger(__name__)

DEFAULT_BINARY = "/usr/sbin/dnsmasq"


# --- the process -----------------------------------------------------------------
def check_binary(binary: str) -> None:
    """libvirt's dnsmasqCapsRefresh check that the binary exists."""
    try:
        os.stat(binary)
    except OSError as err:
        raise error(VIR_ERR_SYSTEM_ERROR, f"Cannot check dnsmasq binary {binary}: "
                                          f"{os.strerror(err.errno)}",
                    domain=VIR_FROM_NETWORK) from err


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [p.decode(errors="replace") for p in raw.split(b"\0") if p]


class DnsmasqProcess:
    """One network's dnsmasq: started as our child, or adopted from a pid file."""

    def __init__(self, files: DnsmasqFiles, pid: int, child: subprocess.Popen | None) -> None:
        self.files = files
        self.pid = pid
        self._child = child
        self._stopping = False
        #: Called (from the watcher thread) when our child exits without stop().
        self.on_unexpected_exit: Callable[["DnsmasqProcess"], None] | None = None

    def _watch(self) -> None:
        """Reap our child the moment it exits; report an exit nobody asked for."""
        child = self._child
        assert child is not None
        thread = threading.Thread(target=self._wait_child, args=(child,),
                                  name=f"dnsmasq-{self.files.network}", daemon=True)
        thread.start()

    def _wait_child(self, child: subprocess.Popen) -> None:
        status = child.wait()
        if self._stopping:
            return
        log.warning("dnsmasq for network '%s' exited with status %s", self.files.network,
                    status)
        callback = self.on_unexpected_exit
        if callback is not None:
            try:
                callback(self)
            except Exception:  # noqa: BLE001 - a watcher thread must not die noisily
                log.exception("restarting dnsmasq for network '%s' failed",
                              self.files.network)

    # --- start / adopt ---------------------------------------------------------------
    @classmethod
    def start(cls, binary: str, files: DnsmasqFiles, timeout: float = 5.0) -> "DnsmasqProcess":
        """Run dnsmasq on ``files.conf``; return once it has written its pid file
        (its sockets are bound by then), or raise with its own error output."""
        check_binary(binary)
        files.pid.unlink(missing_ok=True)
        argv = [binary, f"--conf-file={files.conf}", "--keep-in-foreground"]
        with open(files.log, "wb") as log:
            child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     close_fds=True)
        proc = cls(files, child.pid, child)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise proc._start_failure(argv, child.returncode)
            if proc._pid_file_pid() == child.pid:
                proc._watch()
                return proc
            time.sleep(0.005)
        proc.stop()
        raise error(VIR_ERR_INTERNAL_ERROR, f"dnsmasq for network '{files.network}' did not "
                                            "start in time", domain=VIR_FROM_NETWORK)

    def _start_failure(self, argv: list[str], status: int) -> Exception:
        try:
            tail = self.files.log.read_text(errors="replace").strip()
        except OSError:
            tail = ""
        return error(VIR_ERR_INTERNAL_ERROR, f"Child process ({' '.join(argv)}) unexpected "
                                             f"exit status {status}: {tail}",
                     domain=VIR_FROM_NETWORK)

    @classmethod
    def adopt(cls, files: DnsmasqFiles) -> "DnsmasqProcess | None":
        """The dnsmasq a previous run left for this network, if it still runs on our
        configuration file."""
        pid = cls(files, 0, None)._pid_file_pid()
        if pid is None or f"--conf-file={files.conf}" not in _cmdline(pid):
            return None
        return cls(files, pid, None)

    def _pid_file_pid(self) -> int | None:
        try:
            return int(self.files.pid.read_text().strip())
        except (OSError, ValueError):
            return None

    # --- state and signals -----------------------------------------------------------
    def is_running(self) -> bool:
        if self._child is not None:
            return self._child.poll() is None
        return f"--conf-file={self.files.conf}" in _cmdline(self.pid)

    def reload(self) -> None:
        """SIGHUP: dnsmasq re-reads dhcp-hostsfile and addn-hosts."""
        if self.is_running():
            os.kill(self.pid, signal.SIGHUP)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, wait for the exit (reaping our child), SIGKILL if it lingers."""
        self._stopping = True
        if self._child is not None:
            if self._child.poll() is None:
                self._child.terminate()
                try:
                    self._child.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._child.kill()
                    self._child.wait()
        elif self.is_running():
            self._stop_adopted(timeout)
        self.files.pid.unlink(missing_ok=True)

    def _stop_adopted(self, timeout: float) -> None:
        try:
            pidfd = os.pidfd_open(self.pid)
        except OSError:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
            if not select.select([pidfd], [], [], timeout)[0]:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                select.select([pidfd], [], [], timeout)
        except ProcessLookupError:
            pass
        finally:
            os.close(pidfd)


__all__ = ["DEFAULT_BINARY", "DnsmasqProcess", "check_binary", "DnsmasqFiles", "Lease",
           "addnhosts_text", "config_text", "hostsfile_text", "needs_dnsmasq", "parse_leases"]
