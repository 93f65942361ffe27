"""Throw-away network namespaces, for tests and benchmarks.

:func:`run_in_new_netns` runs a function in a forked child that has unshared
its network namespace (loopback up), and returns its result or re-raises its
error in the parent; the namespace and everything in it vanish with the child.
:class:`Netns` is a further namespace held by a sleeping process, to put one
end of a veth pair in and run commands in (``nsenter``); it lives until
:meth:`Netns.close`. Nothing here touches the namespace of the caller of
``run_in_new_netns``.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import select
import shutil
import signal
import subprocess
import traceback
from typing import Any, Callable

CLONE_NEWNET = 0x40000000


class ChildFailed(AssertionError):
    """The function failed in the namespace child; the message holds its traceback."""


def unshare_netns() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNET): {os.strerror(err)}")


def can_unshare_netns() -> bool:
    """Whether this process may create network namespaces (tries it in a child)."""
    pid = os.fork()
    if pid == 0:
        try:
            unshare_netns()
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def netns_supported() -> bool:
    """Root, /dev/net/tun, ``ip`` and ``nsenter`` present, and namespaces allowed."""
    return (os.geteuid() == 0 and os.path.exists("/dev/net/tun")
            and shutil.which("ip") is not None and shutil.which("nsenter") is not None
            and can_unshare_netns())


def run_in_new_netns(func: Callable[..., Any], *args: Any, timeout: float = 60.0) -> Any:
    """``func(*args)`` in a forked child inside a new network namespace."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        code = 0
        outer = os.readlink("/proc/self/ns/net")
        isolated = False
        try:
            unshare_netns()
            isolated = os.readlink("/proc/self/ns/net") != outer
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
            payload = (True, func(*args))
        except BaseException as err:  # noqa: BLE001 - reported to the parent
            code = 1
            payload = (False, f"{type(err).__name__}: {err}\n{traceback.format_exc()}")
        if isolated:   # never in the caller's namespace
            _kill_namespace_processes(outer)
        try:
            data = pickle.dumps(payload)
        except Exception as err:  # noqa: BLE001
            data = pickle.dumps((False, f"unpicklable result: {err}"))
        with os.fdopen(write_fd, "wb") as out:
            out.write(data)
        os._exit(code)
    os.close(write_fd)
    chunks = []
    try:
        with os.fdopen(read_fd, "rb") as src:
            while True:
                ready, _, _ = select.select([src], [], [], timeout)
                if not ready:
                    os.kill(pid, signal.SIGKILL)
                    raise ChildFailed(f"namespace child did not finish in {timeout} s")
                chunk = src.read1(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.waitpid(pid, 0)
    if not chunks:
        raise ChildFailed("namespace child died without a result")
    ok, value = pickle.loads(b"".join(chunks))
    if not ok:
        raise ChildFailed(value)
    return value


def _kill_namespace_processes(outer: str) -> None:
    """SIGKILL every other process in our own network namespace, so that nothing
    a test started (a dnsmasq it forgot) outlives the namespace child. Refuses
    when our namespace is still ``outer`` (the one we were forked in)."""
    own = os.readlink("/proc/self/ns/net")
    if own == outer:
        return
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/net") == own:
                os.kill(int(entry), signal.SIGKILL)
        except OSError:
            continue


class Netns:
    """A network namespace kept alive by a sleeping child process."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(["unshare", "--net", "sleep", "3600"],
                                      stdin=subprocess.DEVNULL)
        self.pid = self._proc.pid
        # wait until the child is in its own namespace
        own = os.readlink("/proc/self/ns/net")
        for _ in range(1000):
            try:
                if os.readlink(f"/proc/{self.pid}/ns/net") != own and \
                        open(f"/proc/{self.pid}/comm").read().strip() == "sleep":
                    break
            except OSError:
                pass
            select.select([], [], [], 0.002)
        self.run("ip", "link", "set", "lo", "up")

    def run(self, *argv: str, check: bool = True,
            timeout: float = 20.0) -> subprocess.CompletedProcess:
        """Run a command inside this namespace."""
        return subprocess.run(["nsenter", "-t", str(self.pid), "-n", *argv],
                              capture_output=True, text=True, check=check, timeout=timeout)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> "Netns":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def veth_into(ns: Netns, host_end: str, ns_end: str, *, mac: str | None = None) -> None:
    """A veth pair: ``host_end`` here (down), ``ns_end`` inside ``ns`` (up)."""
    cmd = ["ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end]
    subprocess.run(cmd, check=True)
    if mac:
        subprocess.run(["ip", "link", "set", ns_end, "address", mac], check=True)
    subprocess.run(["ip", "link", "set", ns_end, "netns", str(ns.pid)], check=True)
    ns.run("ip", "link", "set", ns_end, "up")
