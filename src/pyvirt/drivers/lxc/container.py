"""The container controller: a small process that builds a container and runs its init.

Run by :mod:`~pyvirt.drivers.lxc.launcher` through its lean bootstrap
(``launcher.controller_argv``: this module without the rest of the library; it
imports only ``syscalls`` and ``spec``), or as ``python -m
pyvirt.drivers.lxc.container SPEC_JSON_FILE SYNC_FD``, in a session of its own. It talks to the
driver over ``SYNC_FD`` (a socketpair) in single-line messages::

    controller                                   driver
    [unshare user ns]  --- "1" --------------->  write uid_map/gid_map, join cgroups
                       <-- "g" ----------------
    unshare mount/uts/ipc/pid/cgroup[/net] ns
                       --- "2" --------------->  veths into /proc/PID/ns/net
                       <-- "g" ----------------
    fork init (pid 1)  --- "P <pid>" --------->
    init exec'd, alive --- "R" --------------->  (or "E <why>": start failed)

The init child makes the mounts private, bind-mounts the root and the other
``<filesystem>`` dirs (read-only ones remounted so), mounts /proc, /sys and a
tmpfs /dev holding bind-mounted device nodes, a private devpts and the console
pty, sets the host name, pivots into the root and execs the init.

The controller then stays as init's parent: it copies the console pty to the
log file and to one client of the console socket at a time, and exits with
init's status once init is gone (the kernel has then killed the whole pid
namespace).
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import sys
import termios
import traceback

from pyvirt.drivers.lxc import syscalls as sc
from pyvirt.drivers.lxc.spec import ContainerSpec

#: capabilities libvirt takes from a container: sys_module, sys_time, audit_control, mac_admin
DROPPED_CAPS = (16, 25, 30, 33)
#: host device nodes bind-mounted into the container's /dev
DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")


class SetupError(Exception):
    """A step of building the container failed; the message says which."""


# --- the init child: build the container, exec init --------------------------------
def _ensure_dir(path: str) -> None:
    if not os.path.isdir(path):
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as err:
            raise SetupError(f"Failed to create directory {path}: {err.strerror}") from err


def _bind(source: str, target: str, readonly: bool) -> None:
    try:
        os.stat(source)
    except OSError as err:
        hint = (" (the container's root must be able to reach it)"
                if err.errno == errno.EACCES else "")
        raise SetupError(f"Failed to access '{source}': {err.strerror}{hint}") from err
    if os.path.isdir(source):
        _ensure_dir(target)
    elif not os.path.exists(target):
        try:
            with open(target, "a"):
                pass
        except OSError as err:
            raise SetupError(f"Failed to create {target}: {err.strerror}") from err
    try:
        sc.mount(source, target, None, sc.MS_BIND | sc.MS_REC)
        if readonly:
            sc.mount(None, target, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY
                     | sc.bind_remount_flags(target))
    except OSError as err:
        raise SetupError(f"Failed to bind mount directory {source} to {target}: "
                         f"{err.strerror}") from err


def _mount_dev(root: str, console_path: str) -> None:
    dev = os.path.join(root, "dev")
    if not os.path.isdir(dev):
        raise SetupError(f"Failed to mount /dev: {dev} is not a directory in the root "
                         "filesystem")
    try:
        sc.mount("devfs", dev, "tmpfs", sc.MS_NOSUID | sc.MS_NOEXEC, "mode=755,size=65536")
    except OSError as err:
        raise SetupError(f"Failed to mount devfs on {dev}: {err.strerror}") from err
    for node in DEV_NODES:
        _bind(f"/dev/{node}", os.path.join(dev, node), False)
    os.mkdir(os.path.join(dev, "pts"), 0o755)
    try:
        sc.mount("devpts", os.path.join(dev, "pts"), "devpts", sc.MS_NOSUID | sc.MS_NOEXEC,
                 "newinstance,ptmxmode=0666,mode=0620")
        os.symlink("pts/ptmx", os.path.join(dev, "ptmx"))
    except OSError as err:
        raise SetupError(f"Failed to mount devpts: {err.strerror}") from err
    _bind(console_path, os.path.join(dev, "console"), False)
    _bind(console_path, os.path.join(dev, "tty1"), False)
    os.mkdir(os.path.join(dev, "shm"), 0o1777)
    try:
        sc.mount("devshm", os.path.join(dev, "shm"), "tmpfs", sc.MS_NOSUID | sc.MS_NODEV,
                 "mode=1777")
    except OSError:
        pass
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))


def _mount_proc_sys(root: str) -> None:
    proc = os.path.join(root, "proc")
    if not os.path.isdir(proc):
        raise SetupError(f"Failed to mount /proc: {proc} is not a directory in the root "
                         "filesystem")
    try:
        sc.mount("proc", proc, "proc", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
    except OSError as err:
        raise SetupError(f"Failed to mount proc on {proc}: {err.strerror}") from err
    sys_dir = os.path.join(root, "sys")
    if not os.path.isdir(sys_dir):
        return
    try:
        sc.mount("sysfs", sys_dir, "sysfs",
                 sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
    except OSError:
        try:        # sysfs needs a network namespace of our own: bind the host's read-only
            sc.mount("/sys", sys_dir, None, sc.MS_BIND | sc.MS_REC)
            sc.mount(None, sys_dir, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY
                     | sc.bind_remount_flags(sys_dir))
        except OSError:
            pass


def build_and_exec(spec: ContainerSpec, console_path: str) -> None:
    """In the new namespaces, as pid 1: mounts, host name, pivot_root, exec init."""
    root = os.path.realpath(spec.root)
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    try:
        os.stat(root)
    except OSError as err:
        hint = (" (the container's root must be able to reach it)"
                if err.errno == errno.EACCES else "")
        raise SetupError(f"Failed to access root filesystem '{spec.root}': "
                         f"{err.strerror}{hint}") from err
    try:
        sc.mount(root, root, None, sc.MS_BIND | sc.MS_REC)
    except OSError as err:
        raise SetupError(f"Failed to bind mount root {root}: {err.strerror}") from err
    for bind in spec.mounts:
        _bind(bind.source, root + "/" + bind.target.lstrip("/"), bind.readonly)
    _mount_proc_sys(root)
    _mount_dev(root, console_path)
    for tmp in ("run",):
        path = os.path.join(root, tmp)
        if os.path.isdir(path):
            try:
                sc.mount("tmpfs", path, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, "mode=755")
            except OSError:
                pass
    if spec.hostname:
        sc.sethostname(spec.hostname)
    os.chdir(root)
    try:
        sc.pivot_root(".", ".")
        sc.umount2(".", sc.MNT_DETACH)
    except OSError as err:
        raise SetupError(f"Failed to pivot root into {root}: {err.strerror}") from err
    os.chdir("/")
    if spec.root_readonly:
        try:
            sc.mount(None, "/", None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY
                     | sc.bind_remount_flags("/"))
        except OSError as err:
            raise SetupError(f"Failed to make the root read-only: {err.strerror}") from err
    for cap in DROPPED_CAPS:
        try:
            sc.drop_bounding_capability(cap)
        except OSError:
            pass
    if not os.path.exists(spec.init):
        raise SetupError(f"Failed to execute init '{spec.init}': No such file or directory "
                         "in the container")
    try:
        os.execve(spec.init, [spec.init, *spec.initargs], dict(spec.env))
    except OSError as err:
        raise SetupError(f"Failed to execute init '{spec.init}': {err.strerror}") from err


def _init_child(spec: ContainerSpec, slave: int, console_path: str, report: int) -> None:
    """Runs in the forked child; never returns."""
    try:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        build_and_exec(spec, console_path)
    except SetupError as err:
        os.write(report, str(err).encode())
    except Exception as err:  # noqa: BLE001 - the driver must hear why
        os.write(report, f"container setup failed: {err!r} "
                 f"{traceback.format_exc(limit=2)}".encode())
    os._exit(127)


# --- the controller ------------------------------------------------------------------
class Sync:
    """Line messages over the socketpair shared with the driver."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self.sock.set_inheritable(False)
        self._buf = b""

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\n")

    def receive(self) -> str:
        while b"\n" not in self._buf:
            data = self.sock.recv(4096)
            if not data:
                raise SetupError("the driver went away")
            self._buf += data
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def expect_go(self) -> None:
        answer = self.receive()
        if answer != "g":
            raise SetupError(answer[2:] if answer.startswith("E ") else "start cancelled")


def _wait_status(pid: int) -> int:
    """Wait for ``pid``; its exit code (128 + signal for a signal)."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return 255
        except InterruptedError:
            continue
        if os.WIFEXITED(status):
            return os.WEXITSTATUS(status)
        if os.WIFSIGNALED(status):
            return 128 + os.WTERMSIG(status)


def _settled(pid: int, seconds: float) -> int | None:
    """None if ``pid`` still runs after ``seconds``; else its exit code."""
    pidfd = os.pidfd_open(pid)
    try:
        if select.select([pidfd], [], [], seconds)[0]:
            return _wait_status(pid)
        return None
    finally:
        os.close(pidfd)


class ConsoleRelay:
    """Copies the pty to the log and to at most one socket client, and back."""

    def __init__(self, master: int, listener: socket.socket, log_fd: int) -> None:
        self.master = master
        self.listener = listener
        self.log_fd = log_fd
        self.client: socket.socket | None = None

    def _drop_client(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def _from_pty(self) -> bool:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return True
        except OSError as err:
            if err.errno == errno.EIO:      # no process holds the pty open now
                return False
            raise
        if not data:
            return False
        if self.log_fd >= 0:
            try:
                os.write(self.log_fd, data)
            except OSError:
                pass
        if self.client is not None:
            try:
                self.client.sendall(data)
            except OSError:
                self._drop_client()
        return True

    def _from_client(self) -> None:
        try:
            data = self.client.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop_client()
            return
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.master, view):]
            except BlockingIOError:
                select.select([], [self.master], [], 1.0)

    def run(self, init_pid: int) -> int:
        pidfd = os.pidfd_open(init_pid)
        pty_open = True
        while True:
            watch = [pidfd, self.listener]
            if pty_open:
                watch.append(self.master)
            if self.client is not None:
                watch.append(self.client)
            ready = select.select(watch, [], [])[0]
            if self.master in ready:
                pty_open = self._from_pty()
            if self.listener in ready:
                conn, _ = self.listener.accept()
                self._drop_client()          # a new session takes over
                self.client = conn
            if self.client is not None and self.client in ready:
                self._from_client()
            if pidfd in ready:
                while pty_open and select.select([self.master], [], [], 0)[0]:
                    pty_open = self._from_pty()
                self._drop_client()
                os.close(pidfd)
                return _wait_status(init_pid)


def _host_id(ranges: list) -> int:
    """The host id container id 0 maps to."""
    return next((r.target for r in ranges if r.start == 0), ranges[0].target)


def _open_console(spec: ContainerSpec) -> tuple[int, int, str, socket.socket, int]:
    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] |= termios.ONLCR | termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    os.set_blocking(master, False)
    if spec.user_namespace:         # the container's root must own its console
        os.fchown(slave, _host_id(spec.uid_map), _host_id(spec.gid_map))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if spec.console_socket:
        try:
            os.unlink(spec.console_socket)
        except FileNotFoundError:
            pass
        listener.bind(spec.console_socket)
        os.chmod(spec.console_socket, 0o600)
    else:
        listener.bind("")
    listener.listen(2)
    log_fd = -1
    if spec.log_path:
        log_fd = os.open(spec.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    return master, slave, os.ttyname(slave), listener, log_fd


def _drain(master: int, log_fd: int) -> None:
    """Copy what the pty still holds into the log."""
    while log_fd >= 0:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        os.write(log_fd, data)


def controller(spec: ContainerSpec, sync: Sync) -> int:
    """Build the container; returns init's exit code once it has gone."""
    master, slave, console_path, listener, log_fd = _open_console(spec)
    if spec.user_namespace:
        sc.unshare(sc.CLONE_NEWUSER)
    sync.send("1")
    sync.expect_go()
    if spec.user_namespace:
        os.setgroups([])
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    flags = sc.CLONE_NEWNS | sc.CLONE_NEWUTS | sc.CLONE_NEWIPC | sc.CLONE_NEWPID \
        | sc.CLONE_NEWCGROUP
    if spec.private_network:
        flags |= sc.CLONE_NEWNET
    sc.unshare(flags)
    sync.send("2")
    sync.expect_go()
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(report_r)
        _init_child(spec, slave, console_path, report_w)
    os.close(report_w)
    sync.send(f"P {pid}")
    failure = b""
    while True:
        chunk = os.read(report_r, 65536)
        if not chunk:
            break
        failure += chunk
    os.close(report_r)
    if failure:
        _wait_status(pid)
        sync.send("E " + failure.decode(errors="replace").replace("\n", " ").strip())
        return 1
    early = _settled(pid, spec.settle_s)
    if early is not None:
        _drain(master, log_fd)
        sync.send(f"D {early}")
        return early
    sync.send("R")
    sync.sock.close()
    os.close(slave)
    return ConsoleRelay(master, listener, log_fd).run(pid)


def main(argv: list[str]) -> int:
    spec_path, sync_fd = argv[1], int(argv[2])
    with open(spec_path) as handle:
        spec = ContainerSpec.from_json(handle.read())
    sync = Sync(sync_fd)
    try:
        return controller(spec, sync)
    except (SetupError, OSError) as err:
        try:
            sync.send(f"E {err}")
        except OSError:
            pass
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
