"""The ``fs`` pool: a block device or an image file we mount (``mount -o loop``)."""

from __future__ import annotations

import os
import stat

from pyvirt.constants import VIR_STORAGE_POOL_BUILD_NO_OVERWRITE, VIR_STORAGE_POOL_BUILD_OVERWRITE
from pyvirt.errors import (
    VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_INVALID, VIR_ERR_STORAGE_POOL_BUILT,
    VIR_FROM_STORAGE, error,
)
from pyvirt.storage import commands, mounts
from pyvirt.storage.backend import register_backend
from pyvirt.storage.dir import DirBackend


@register_backend
class FsBackend(DirBackend):
    type_name = "fs"

    # --- what to mount -----------------------------------------------------------
    @property
    def fs_format(self) -> str:
        return self.pdef.source_format or "auto"

    @property
    def device(self) -> str | None:
        devices = self.pdef.source_devices
        return devices[0] if devices else None

    def mount_source(self) -> str:
        device = self.device
        if not device:
            raise error(VIR_ERR_INVALID_ARG, "missing source device", domain=VIR_FROM_STORAGE)
        return device

    def mount_options(self, source: str) -> list[str]:
        try:
            regular = stat.S_ISREG(os.stat(source).st_mode)
        except OSError:
            regular = False
        return ["loop"] if regular else []

    def check_source(self) -> None:
        device = self.mount_source()
        if not os.path.exists(device):
            raise error(VIR_ERR_INVALID_ARG, f"device '{device}' does not exist",
                        domain=VIR_FROM_STORAGE)

    # --- lifecycle -----------------------------------------------------------------
    def is_mounted(self) -> bool:
        return mounts.mount_at(self.target_path) is not None

    def check_started(self) -> bool:
        return self.is_mounted()

    def start(self) -> None:
        if self.is_mounted():
            return
        self.check_source()
        if not os.path.isdir(self.target_path):
            raise error(VIR_ERR_OPERATION_INVALID, f"cannot mount on '{self.target_path}': "
                        "it is not a directory (build the pool first)", domain=VIR_FROM_STORAGE)
        source = self.mount_source()
        commands.run(mounts.mount_argv(source, self.target_path, self.fs_format,
                                       self.mount_options(source)))

    def stop(self) -> None:
        if self.is_mounted():
            commands.run(mounts.umount_argv(self.target_path))

    def make_filesystem(self, flags: int) -> None:
        device = self.device
        if not device:
            super().make_filesystem(flags)
            return
        fmt = "ext4" if self.fs_format == "auto" else self.fs_format
        if flags & VIR_STORAGE_POOL_BUILD_NO_OVERWRITE and not flags & \
                VIR_STORAGE_POOL_BUILD_OVERWRITE:
            found = self.existing_filesystem(device)
            if found:
                raise error(VIR_ERR_STORAGE_POOL_BUILT,
                            f"Device '{device}' already formatted using '{found}'",
                            domain=VIR_FROM_STORAGE)
        commands.run(mounts.mkfs_argv(device, fmt))

    @staticmethod
    def existing_filesystem(device: str) -> str | None:
        """The filesystem ``blkid`` finds on ``device`` (None: empty)."""
        done = commands.run(mounts.blkid_argv(device), check=False)
        found = done.stdout.decode(errors="replace").strip()
        return found or None
