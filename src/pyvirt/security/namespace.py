"""QEMU in its own mount namespace with a private ``/dev`` (qemu.conf ``namespaces = ["mount"]``).

As libvirt does, the guest process sees a ``/dev`` that holds only what it
needs: ``null zero full random urandom ptmx`` (+ the host's ``/dev/pts`` and
``/dev/shm`` bound in, so pty paths QEMU reports are the host's), ``kvm`` for
a KVM guest, ``net/tun`` for a guest with tap NICs, and the block devices of
its disks. Everything else of the host tree stays visible, but as a *slave*
mount tree: nothing the guest's namespace mounts leaks back to the host.

Three parts:

* :func:`wanted_paths` (pure): the ``/dev`` paths a definition needs;
* :func:`describe` (reads the host): each path's node (type, device number,
  owner, mode, symlink target) as a :class:`DevNode`, taken *after* labelling
  so a disk's node carries the guest's owner;
* :class:`PrivateDev` runs in the forked child before exec (``unshare``,
  ``mount --make-rslave /``, a tmpfs at a staging directory filled with the
  nodes, the kept mounts bound into it, then moved onto ``/dev``), and
  :func:`add_node` / :func:`remove_node` enter a running QEMU's namespace
  (``setns`` in a forked child) to hot-plug or unplug a block device node.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from pyvirt.errors import VIR_ERR_OPERATION_FAILED, VIR_FROM_SECURITY, error

CLONE_NEWNS = 0x00020000
MS_NOSUID = 0x2
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SLAVE = 1 << 19

#: always there: QEMU's own needs (libvirt's defaultDeviceACL, less the old ttys)
BASE_NODES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
              "/dev/ptmx")
KVM_NODE = "/dev/kvm"
TUN_NODE = "/dev/net/tun"
#: mounts under the host's /dev the guest keeps (bound into its own /dev)
KEPT_MOUNTS = ("/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/hugepages")
TAP_NIC_TYPES = ("network", "bridge", "ethernet")
#: the private /dev's size and mode (libvirt: "mode=755,size=65536")
DEV_TMPFS_OPTIONS = "mode=755,size=65536k"


@dataclass(frozen=True)
class DevNode:
    """One entry to recreate in a private ``/dev``."""

    path: str                 # absolute, under /dev
    mode: int                 # st_mode: type and permission bits
    rdev: int = 0
    uid: int = 0
    gid: int = 0
    link: str | None = None   # a symlink's target

    @property
    def relative(self) -> str:
        return os.path.relpath(self.path, "/dev")


# --- pure: what a definition needs ------------------------------------------------
def under_dev(path: str) -> bool:
    norm = os.path.normpath(path)
    return norm.startswith("/dev/") and ".." not in norm.split("/")


def wanted_paths(domain: Any, kvm: bool | None = None) -> list[str]:
    """The ``/dev`` paths the guest of ``domain`` (a DomainDef or its element)
    needs, each once: the base nodes, ``kvm`` for ``type='kvm'`` (or ``kvm``
    given), ``net/tun`` with a tap NIC, block disk sources under ``/dev``."""
    root = getattr(domain, "node", domain)
    paths = list(BASE_NODES)
    if kvm if kvm is not None else root.get("type") == "kvm":
        paths.append(KVM_NODE)
    if any(i.get("type") in TAP_NIC_TYPES for i in root.iterfind("devices/interface")):
        paths.append(TUN_NODE)
    for disk in root.iterfind("devices/disk"):
        path = block_source(disk)
        if path:
            paths.append(path)
    seen: list[str] = []
    for path in paths:
        if path not in seen:
            seen.append(path)
    return seen


def block_source(disk: Any) -> str | None:
    """The ``/dev`` node of a ``<disk type='block'>``, None for anything else."""
    node = getattr(disk, "node", disk)
    source = node.find("source")
    if node.get("type") != "block" or source is None:
        return None
    path = source.get("dev")
    return os.path.normpath(path) if path and under_dev(path) else None


# --- reading the host -------------------------------------------------------------
def describe(paths: Iterable[str]) -> list[DevNode]:
    """The nodes behind ``paths`` (missing ones skipped); a symlink gives its own
    entry and its target's (when under /dev), so ``/dev/disk/by-id/x`` works."""
    out: list[DevNode] = []
    todo = list(paths)
    while todo:
        path = os.path.normpath(todo.pop(0))
        if any(n.path == path for n in out) or not under_dev(path):
            continue
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(path)
            out.append(DevNode(path, st.st_mode, link=target))
            todo.append(os.path.join(os.path.dirname(path), target))
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            out.append(DevNode(path, st.st_mode, st.st_rdev, st.st_uid, st.st_gid))
    return out


def kept_mounts(mountinfo: str | None = None) -> tuple[str, ...]:
    """Which of :data:`KEPT_MOUNTS` are mount points on this host."""
    if mountinfo is None:
        try:
            with open("/proc/self/mountinfo", encoding="utf-8") as fh:
                mountinfo = fh.read()
        except OSError:
            mountinfo = ""
    points = {line.split()[4] for line in mountinfo.splitlines() if len(line.split()) > 4}
    return tuple(p for p in KEPT_MOUNTS if p in points)


def mount_ns_of(pid: int | str) -> str:
    """``mnt:[INODE]`` of a process (``'self'`` for ours); '' when unreadable."""
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return ""


def has_own_namespace(pid: int) -> bool:
    """Whether ``pid`` lives in a mount namespace other than ours."""
    theirs = mount_ns_of(pid)
    return bool(theirs) and theirs != mount_ns_of("self")


# --- in a child: syscalls -------------------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p)
_libc.unshare.argtypes = (ctypes.c_int,)
_libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    _check(_libc.mount(source.encode() if source else None, target.encode(),
                       fstype.encode() if fstype else None, flags,
                       data.encode() if data else None), f"mount {target}")


def make_node(base: str, node: DevNode) -> None:
    """Create ``node`` below ``base`` (the private /dev or its staging directory)."""
    target = os.path.join(base, node.relative)
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    try:
        os.unlink(target)
    except FileNotFoundError:
        pass
    if node.link is not None:
        os.symlink(node.link, target)
        return
    os.mknod(target, node.mode, node.rdev)
    os.chown(target, node.uid, node.gid)
    os.chmod(target, stat.S_IMODE(node.mode))


@dataclass(frozen=True)
class PrivateDev:
    """The ``preexec`` step giving the child its own mount namespace and /dev.

    ``staging`` is an empty directory (made by the parent) the tmpfs is first
    mounted on, in the child's namespace only."""

    staging: str
    nodes: tuple[DevNode, ...]
    kept: tuple[str, ...] = ()

    def __call__(self) -> None:
        _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        _mount(None, "/", None, MS_REC | MS_SLAVE)
        _mount("devfs", self.staging, "tmpfs", MS_NOSUID, DEV_TMPFS_OPTIONS)
        for node in self.nodes:
            make_node(self.staging, node)
        for point in self.kept:
            inside = os.path.join(self.staging, os.path.relpath(point, "/dev"))
            os.makedirs(inside, mode=0o755, exist_ok=True)
            _mount(point, inside, None, MS_BIND | MS_REC)
        _mount(self.staging, "/dev", None, MS_MOVE)


def private_dev(domain: Any, staging: str, kvm: bool | None = None) -> PrivateDev:
    """The :class:`PrivateDev` of a definition (read its nodes from the host now)."""
    os.makedirs(staging, mode=0o700, exist_ok=True)
    return PrivateDev(staging=staging, nodes=tuple(describe(wanted_paths(domain, kvm))),
                      kept=kept_mounts())


# --- entering a running guest's namespace --------------------------------------------
def run_in_namespace(pid: int, action: Callable[[], None]) -> None:
    """Run ``action`` in a forked child that joined ``pid``'s mount namespace
    (a threaded process cannot ``setns`` a mount namespace itself)."""
    fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    try:
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:                              # pragma: no cover - in the child
            code = 0
            try:
                os.close(read_end)
                _check(_libc.setns(fd, CLONE_NEWNS), "setns")
                action()
            except OSError as err:
                os.write(write_end, f"{err.errno or errno.EIO}:{err}".encode()[:512])
                code = 1
            except BaseException:                   # noqa: BLE001
                code = 2
            os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as reader:
            said = reader.read().decode(errors="replace")
        _, status = os.waitpid(child, 0)
    finally:
        os.close(fd)
    if os.waitstatus_to_exitcode(status) != 0:
        raise error(VIR_ERR_OPERATION_FAILED, "cannot change the mount namespace of "
                    f"process {pid}: {said.partition(':')[2] or 'failed'}",
                    domain=VIR_FROM_SECURITY)


def add_node(pid: int, path: str) -> list[DevNode]:
    """Make ``path`` (a block device under /dev, and a symlink's target) inside the
    running ``pid``'s private /dev. Returns what was made."""
    nodes = describe([path])
    if nodes:
        run_in_namespace(pid, lambda: [make_node("/dev", n) for n in nodes])
    return nodes


def remove_node(pid: int, path: str) -> None:
    """Remove ``path`` from the running ``pid``'s private /dev (missing: fine)."""
    norm = os.path.normpath(path)
    if not under_dev(norm) or norm in BASE_NODES:
        return

    def unlink() -> None:
        try:
            os.unlink(norm)
        except FileNotFoundError:
            pass
    run_in_namespace(pid, unlink)
