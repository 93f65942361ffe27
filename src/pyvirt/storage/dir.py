"""The ``dir`` pool: volumes are files in a directory."""

from __future__ import annotations

import os

from pyvirt.constants import VIR_STORAGE_POOL_BUILD_NO_OVERWRITE, VIR_STORAGE_POOL_BUILD_OVERWRITE
from pyvirt.errors import VIR_ERR_OPERATION_INVALID, VIR_FROM_STORAGE, error
from pyvirt.storage import fileops
from pyvirt.storage.backend import (
    FileVolumes, check_build_flags, check_flags, register_backend,
)

#: libvirt's mode for a pool directory it creates (DEFAULT_POOL_PERM_MODE).
DEFAULT_DIR_MODE = 0o711


@register_backend
class DirBackend(FileVolumes):
    type_name = "dir"

    def check_started(self) -> bool:
        return os.path.isdir(self.target_path)

    def build(self, flags: int) -> None:
        check_flags(flags, VIR_STORAGE_POOL_BUILD_OVERWRITE | VIR_STORAGE_POOL_BUILD_NO_OVERWRITE,
                    "virStorageBackendFileSystemBuild")
        check_build_flags(flags)
        self._make_target()
        if flags:
            self.make_filesystem(flags)

    def _make_target(self) -> None:
        path = self.target_path
        mode = int(self.pdef.target_mode, 8) if self.pdef.target_mode else DEFAULT_DIR_MODE
        if os.path.lexists(path):
            if os.path.isdir(path) and self.pdef.target_mode:
                os.chmod(path, mode)
            return
        try:
            os.makedirs(path, mode=mode)
            os.chmod(path, mode)                 # makedirs' mode goes through the umask
            owner, group = self.pdef.target_owner, self.pdef.target_group
            if (owner is not None and owner != -1) or (group is not None and group != -1):
                os.chown(path, owner if owner is not None else -1,
                         group if group is not None else -1)
        except OSError as err:
            raise fileops.system_error(f"cannot create path '{path}'", err) from err

    def make_filesystem(self, flags: int) -> None:
        """Format the source device (fs pools); a dir pool has none to format."""
        raise error(VIR_ERR_OPERATION_INVALID, "No source device specified when formatting "
                    f"pool '{self.pdef.name}'", domain=VIR_FROM_STORAGE)

    def delete(self, flags: int) -> None:
        check_flags(flags, 0, "virStorageBackendFileSystemDelete")
        try:
            os.rmdir(self.target_path)
        except OSError as err:
            raise fileops.system_error(f"failed to remove pool '{self.target_path}'",
                                       err) from err
