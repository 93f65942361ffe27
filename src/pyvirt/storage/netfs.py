"""The ``netfs`` pool: an NFS (or CIFS, GlusterFS) export we mount.

Before mounting NFS the kernel's support is checked: ``nfs`` in
``/proc/filesystems``, or an NFS module the kernel could load. A kernel
without either (these test machines) gets a clear error naming what is
missing instead of mount(8)'s "unknown filesystem type".
"""

from __future__ import annotations

import os
from pathlib import Path

from pyvirt.errors import VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_STORAGE, error
from pyvirt.storage import mounts
from pyvirt.storage.backend import register_backend
from pyvirt.storage.fs import FsBackend

#: Mount options libvirt always gives network filesystems.
NETFS_OPTIONS = ["nodev", "nosuid", "noexec"]


def nfs_module_available(release: str | None = None, root: Path = Path("/lib/modules")) -> bool:
    """Could the kernel load NFS? (module loading enabled and an nfs module present)."""
    if not Path("/proc/modules").exists():
        return False
    release = release or os.uname().release
    base = root / release / "kernel" / "fs" / "nfs"
    return base.is_dir() and any(p.name.startswith("nfs.ko") for p in base.iterdir())


def check_kernel_nfs(filesystems: set[str] | None = None,
                     module_available: bool | None = None) -> None:
    """libvirtError when this kernel cannot mount NFS at all."""
    known = mounts.kernel_filesystems() if filesystems is None else filesystems
    if "nfs" in known or "nfs4" in known:
        return
    loadable = nfs_module_available() if module_available is None else module_available
    if loadable:
        return
    raise error(VIR_ERR_OPERATION_UNSUPPORTED,
                "this kernel has no NFS client: 'nfs' is not in /proc/filesystems and no "
                "nfs module can be loaded", domain=VIR_FROM_STORAGE)


@register_backend
class NetfsBackend(FsBackend):
    type_name = "netfs"

    @property
    def fs_format(self) -> str:
        return self.pdef.source_format or "auto"

    def mount_source(self) -> str:
        host = self.pdef.source_hosts[0][0] if self.pdef.source_hosts else ""
        path = self.pdef.source_dir or ""
        if self.fs_format == "cifs":
            return f"//{host}/{path.lstrip('/')}"
        return f"{host}:{path}"

    def mount_options(self, source: str) -> list[str]:
        options = list(NETFS_OPTIONS)
        version = self.pdef.source_protocol_ver
        if version and self.fs_format == "nfs":
            options.append(f"nfsvers={version}")
        return options

    def check_source(self) -> None:
        if self.fs_format in ("auto", "nfs"):
            check_kernel_nfs()

    def make_filesystem(self, flags: int) -> None:
        from pyvirt.storage.dir import DirBackend
        DirBackend.make_filesystem(self, flags)
