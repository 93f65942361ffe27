"""Where pools live on disk: definitions in the config dir, live state in the run dir.

Layout (libvirt's, under our own roots)::

    CONFIG/NAME.xml              persistent definition (pool-define)
    CONFIG/autostart/NAME.xml    symlink to ../NAME.xml when autostart is on
    RUN/NAME.xml                 live definition of an active pool (transient ones too)

Every file is written atomically: a temporary file in the same directory,
fsync, rename over the old one, fsync of the directory.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from pyvirt.errors import VIR_ERR_SYSTEM_ERROR, VIR_FROM_STORAGE, error
from pyvirt.atomicfile import write_atomic as _write_atomic

log = logging.getLogger(__name__)


def write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` so a crash leaves the old file or the new one."""
    try:
        _write_atomic(path, text, mode)
    except OSError as err:
        raise error(VIR_ERR_SYSTEM_ERROR, f"cannot write config file '{path}': "
                    f"{err.strerror}", domain=VIR_FROM_STORAGE) from err


def remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


@dataclass(frozen=True)
class PoolStore:
    """The files of one storage driver instance."""

    config: Path
    run: Path

    @property
    def autostart_dir(self) -> Path:
        return self.config / "autostart"

    def config_file(self, name: str) -> Path:
        return self.config / f"{name}.xml"

    def autostart_link(self, name: str) -> Path:
        return self.autostart_dir / f"{name}.xml"

    def status_file(self, name: str) -> Path:
        return self.run / f"{name}.xml"

    def create(self) -> None:
        for path in (self.config, self.autostart_dir, self.run):
            path.mkdir(parents=True, exist_ok=True)

    # --- definitions ---------------------------------------------------------------
    def save_config(self, name: str, xml: str) -> None:
        write_atomic(self.config_file(name), xml)

    def delete_config(self, name: str) -> None:
        remove_quietly(self.config_file(name))
        remove_quietly(self.autostart_link(name))

    def configs(self) -> list[tuple[str, str]]:
        """(name, xml) of every saved definition."""
        return self._read_all(self.config)

    # --- autostart -------------------------------------------------------------------
    def set_autostart(self, name: str, on: bool) -> None:
        link = self.autostart_link(name)
        if not on:
            remove_quietly(link)
            return
        self.autostart_dir.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            try:
                os.symlink(self.config_file(name), link)
            except OSError as err:
                raise error(VIR_ERR_SYSTEM_ERROR, f"Failed to create symlink '{link}' to "
                            f"'{self.config_file(name)}': {err.strerror}",
                            domain=VIR_FROM_STORAGE) from err

    def autostart(self, name: str) -> bool:
        return self.autostart_link(name).is_symlink()

    # --- live state ----------------------------------------------------------------------
    def save_status(self, name: str, xml: str) -> None:
        write_atomic(self.status_file(name), xml)

    def delete_status(self, name: str) -> None:
        remove_quietly(self.status_file(name))

    def statuses(self) -> list[tuple[str, str]]:
        return self._read_all(self.run)

    @staticmethod
    def _read_all(folder: Path) -> list[tuple[str, str]]:
        found = []
        if not folder.is_dir():
            return found
        for path in sorted(folder.glob("*.xml")):
            try:
                found.append((path.stem, path.read_text()))
            except OSError as err:
                log.warning("cannot read %s: %s", path, err)
        return found
