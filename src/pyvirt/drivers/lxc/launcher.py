"""Starting and stopping one container: the driver's side of the controller.

:func:`launch` is a template with guaranteed cleanup: prepare (cgroup, spec
file) → spawn the controller → answer its handshake (id maps, cgroup, veths)
→ wait for "init is running". Any failure kills what was started and undoes
the host changes, then raises ``libvirtError`` with the controller's reason
and the tail of the console log.

:class:`Container` is a running container as the driver tracks it: the
controller and init pids (with their start times, so a recycled pid is never
mistaken for ours), its cgroup, its host veth ends, and a watcher thread that
reports the controller's exit at once through a pidfd.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pyvirt.drivers.lxc import network
from pyvirt.drivers.lxc.cgroup import ContainerCgroup
from pyvirt.drivers.lxc.spec import ContainerSpec
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_FAILED, VIR_FROM_LXC, error

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT_S = 15.0


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks), None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:
        return None
    try:
        return int(text[text.rindex(")") + 2:].split()[19])
    except (ValueError, IndexError):
        return None


def alive(pid: int, start_time: int | None) -> bool:
    """Whether ``pid`` still runs and is the process that started at ``start_time``."""
    if pid <= 0:
        return False
    now = process_start_time(pid)
    if now is None:
        return False
    state = _proc_state(pid)
    return state != "Z" and (start_time is None or now == start_time)


def _proc_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
        return text[text.rindex(")") + 2]
    except (OSError, ValueError, IndexError):
        return ""


def log_tail(path: str, limit: int = 800) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode(errors="replace").strip()
    except OSError:
        return ""


@dataclass
class Container:
    """A running container."""

    name: str
    controller_pid: int
    controller_start: int | None
    init_pid: int
    init_start: int | None
    cgroup: ContainerCgroup
    veths: list[str] = field(default_factory=list)
    console_socket: str = ""
    log_path: str = ""
    popen: subprocess.Popen | None = None
    #: why it is stopping: "shutdown", "destroy", "reboot" or None (init exited on its own)
    stopping: str | None = None
    exit_code: int | None = None
    _exited: threading.Event = field(default_factory=threading.Event)
    _watcher: threading.Thread | None = None

    # --- watching ---------------------------------------------------------------------
    def watch(self, on_exit: Callable[["Container"], None]) -> None:
        """Call ``on_exit(self)`` from a thread as soon as the controller exits."""
        try:
            pidfd = os.pidfd_open(self.controller_pid)
        except OSError:
            pidfd = -1

        def wait() -> None:
            if pidfd >= 0:
                select.select([pidfd], [], [])
                os.close(pidfd)
            if self.popen is not None:
                self.exit_code = self.popen.wait()
            else:
                while alive(self.controller_pid, self.controller_start):
                    time.sleep(0.05)
            self._exited.set()
            on_exit(self)

        self._watcher = threading.Thread(target=wait, name=f"lxc-{self.name}", daemon=True)
        self._watcher.start()

    def running(self) -> bool:
        return not self._exited.is_set() and alive(self.controller_pid, self.controller_start)

    def wait_exit(self, timeout: float) -> bool:
        if self._watcher is None:
            deadline = time.monotonic() + timeout
            while alive(self.controller_pid, self.controller_start):
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.02)
            return True
        return self._exited.wait(timeout)

    # --- signals ----------------------------------------------------------------------
    def signal_init(self, signum: int) -> bool:
        if not alive(self.init_pid, self.init_start):
            return False
        try:
            os.kill(self.init_pid, signum)
            return True
        except ProcessLookupError:
            return False

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL init (the kernel then kills the pid namespace) and the controller."""
        self.signal_init(signal.SIGKILL)
        if self.cgroup.frozen():             # a frozen task cannot die: thaw it
            try:
                self.cgroup.freeze(False)
            except Exception:  # noqa: BLE001 - killing matters more
                log.warning("could not thaw container '%s'", self.name)
        if not self.wait_exit(min(timeout, 5.0)) and alive(self.controller_pid,
                                                           self.controller_start):
            try:
                os.kill(self.controller_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait_exit(timeout)
        for pid in self.cgroup.pids():       # anything that escaped the pid namespace
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cleanup(self) -> None:
        """Undo the host changes: veths, cgroup, console socket."""
        for veth in self.veths:
            network.delete_veth(veth)
        self.cgroup.remove()
        if self.console_socket:
            try:
                os.unlink(self.console_socket)
            except OSError:
                pass


class _Handshake:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(HANDSHAKE_TIMEOUT_S)
        self._buf = b""

    def receive(self) -> str:
        while b"\n" not in self._buf:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                raise error(VIR_ERR_OPERATION_FAILED, "timed out waiting for the container "
                            "controller", domain=VIR_FROM_LXC) from None
            if not data:
                return "E the container controller exited"
            self._buf += data
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode(errors="replace")

    def expect(self, want: str) -> str:
        line = self.receive()
        if line.startswith("E "):
            raise _ControllerFailed(line[2:])
        if not line.startswith(want):
            raise _ControllerFailed(f"unexpected controller message {line!r}")
        return line

    def go(self) -> None:
        self.sock.sendall(b"g\n")


class _ControllerFailed(Exception):
    pass


#: The controller's entry: it loads ``pyvirt.drivers.lxc.container`` (which needs only
#: ``syscalls`` and ``spec``) under empty stand-ins for the ``pyvirt``,
#: ``pyvirt.drivers`` and ``pyvirt.drivers.lxc`` packages, so a container start does
#: not pay for importing the whole library (~100 ms) in the controller.
CONTROLLER_BOOTSTRAP = """\
import sys, types
pkg = sys.argv[1]
for name, sub in (("pyvirt", ""), ("pyvirt.drivers", "/drivers"),
                  ("pyvirt.drivers.lxc", "/drivers/lxc")):
    module = types.ModuleType(name)
    module.__path__ = [pkg + sub]
    sys.modules[name] = module
from pyvirt.drivers.lxc.container import main
sys.exit(main(sys.argv[1:]))
"""


def controller_argv(spec_path: str, sync_fd: int) -> list[str]:
    """The command line of a container's controller process."""
    package = str(Path(__file__).resolve().parents[2])       # .../pyvirt
    return [sys.executable, "-I", "-S", "-c", CONTROLLER_BOOTSTRAP, package, spec_path,
            str(sync_fd)]


def write_id_maps(pid: int, spec: ContainerSpec) -> None:
    for kind, ranges in (("uid_map", spec.uid_map), ("gid_map", spec.gid_map)):
        text = "".join(r.line() + "\n" for r in ranges)
        with open(f"/proc/{pid}/{kind}", "w") as handle:
            handle.write(text)


def launch(spec: ContainerSpec, cgroup: ContainerCgroup, spec_path: Path,
           limits: Callable[[ContainerCgroup], None],
           interfaces: list[network.VethPlan]) -> Container:
    """Start the container of ``spec``; returns it running (or raises, leaving nothing)."""
    spec_path.write_text(spec.to_json())
    cgroup.create()
    parent_sock, child_sock = socket.socketpair()
    popen: subprocess.Popen | None = None
    veths: list[str] = []
    init_pid = 0
    try:
        limits(cgroup)
        log_fd = os.open(spec.log_path or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                         0o600)
        try:
            popen = subprocess.Popen(
                controller_argv(str(spec_path), child_sock.fileno()),
                stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd,
                pass_fds=(child_sock.fileno(),), start_new_session=True, close_fds=True)
        finally:
            os.close(log_fd)
        child_sock.close()
        talk = _Handshake(parent_sock)
        talk.expect("1")
        if spec.user_namespace:
            write_id_maps(popen.pid, spec)
        cgroup.add_task(popen.pid)
        talk.go()
        talk.expect("2")
        for plan in interfaces:
            veths.append(plan.host_name)
            network.plug_veth(plan, popen.pid)
        talk.go()
        init_pid = int(talk.expect("P ").split()[1])
        cgroup.release_task(popen.pid)       # init stays; the controller leaves
        ready = talk.receive()
        if ready.startswith("E "):
            raise _ControllerFailed(ready[2:])
        if ready.startswith("D "):
            raise _ControllerFailed(f"init '{spec.init}' exited at once with status "
                                    f"{ready[2:]}")
        if ready != "R":
            raise _ControllerFailed(f"unexpected controller message {ready!r}")
    except (_ControllerFailed, OSError) as err:
        _abort(popen, init_pid, cgroup, veths, spec)
        tail = log_tail(spec.log_path)
        detail = f"container '{spec.name}' failed to start: {err}"
        if tail:
            detail += f"; console log: {tail}"
        raise error(VIR_ERR_OPERATION_FAILED, detail, domain=VIR_FROM_LXC) from err
    except BaseException:
        _abort(popen, init_pid, cgroup, veths, spec)
        raise
    finally:
        parent_sock.close()
        try:
            spec_path.unlink()
        except OSError:
            pass
    if popen is None:
        raise error(VIR_ERR_INTERNAL_ERROR, "container controller did not start",
                    domain=VIR_FROM_LXC)
    return Container(name=spec.name, controller_pid=popen.pid,
                     controller_start=process_start_time(popen.pid), init_pid=init_pid,
                     init_start=process_start_time(init_pid), cgroup=cgroup, veths=veths,
                     console_socket=spec.console_socket, log_path=spec.log_path, popen=popen)


def _abort(popen: subprocess.Popen | None, init_pid: int, cgroup: ContainerCgroup,
           veths: list[str], spec: ContainerSpec) -> None:
    if init_pid > 0:
        try:
            os.kill(init_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if popen is not None:
        try:
            popen.wait(5)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
    for pid in cgroup.pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for veth in veths:
        network.delete_veth(veth)
    cgroup.remove()
    if spec.console_socket:
        try:
            os.unlink(spec.console_socket)
        except OSError:
            pass
