"""Creating a stateful driver's directories, the same way for every driver."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pyvirt.errors import VIR_ERR_OPERATION_FAILED, error


def create_dirs(paths: Iterable[Path], private: Iterable[Path], domain: int) -> None:
    """Make every directory in ``paths``, then set ``private`` ones to mode 0700.

    A directory that cannot be made raises libvirt's "cannot create directory"
    error under ``domain`` (the driver's VIR_FROM_*); a failed chmod is ignored.
    """
    for path in paths:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise error(VIR_ERR_OPERATION_FAILED, f"cannot create directory '{path}': "
                        f"{err.strerror}", domain=domain) from err
    for path in private:
        try:
            os.chmod(path, 0o700)
        except OSError:
            pass


class DomainFilePaths:
    """Per-domain file names under a driver's ``config``, ``run`` and ``log``
    directories (a mixin for each driver's frozen ``StateDirs`` dataclass)."""

    config: Path
    run: Path
    log: Path

    @property
    def autostart(self) -> Path:
        return self.config / "autostart"

    def config_path(self, name: str) -> Path:
        return self.config / f"{name}.xml"

    def autostart_path(self, name: str) -> Path:
        return self.autostart / f"{name}.xml"

    def status_path(self, name: str) -> Path:
        return self.run / f"{name}.xml"

    def log_path(self, name: str) -> Path:
        return self.log / f"{name}.log"
