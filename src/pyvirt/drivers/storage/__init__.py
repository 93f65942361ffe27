"""The storage driver on real hosts: pools (dir, fs, netfs, logical) and volumes.

:func:`open_storage` gives a :class:`StorageConnection` for a pair of dirs:
``config_dir`` holds persistent pool definitions (``NAME.xml``,
``autostart/NAME.xml``), ``run_dir`` the live state of active pools. All
connections to the same dirs in a process share one state (pools, volumes,
event subscribers); the state is loaded (and autostart pools started) on the
first open and dropped when its last connection closes.

Suggested dirs: ``ROOT/etc/storage`` + ``ROOT/run/storage`` for
``qemu:///embed?root=ROOT``; ``/etc/pyvirt/storage`` + ``/run/pyvirt/storage``
for ``qemu:///system``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pyvirt.drivers.storage.driver import StorageDriver
from pyvirt.drivers.storage.persist import PoolStore
from pyvirt.drivers.storage.state import StorageState

_lock = threading.RLock()   # a GC finalizer may close a connection inside open_storage
_states: dict[tuple[Path, Path], StorageState] = {}


def _key(config_dir: Path, run_dir: Path) -> tuple[Path, Path]:
    return (Path(config_dir).absolute(), Path(run_dir).absolute())


def open_storage(config_dir: Path, run_dir: Path, readonly: bool = False) -> StorageDriver:
    """A storage connection over the state kept in ``config_dir`` / ``run_dir``."""
    key = _key(config_dir, run_dir)
    with _lock:
        state = _states.get(key)
        if state is None:
            state = StorageState(PoolStore(*key))
            state.load()
            _states[key] = state
        state.connections += 1
    return StorageDriver(state, readonly, on_close=lambda drv: _release(key, drv.state))


def _release(key: tuple[Path, Path], state: StorageState) -> None:
    with _lock:
        state.connections -= 1
        if state.connections <= 0 and _states.get(key) is state:
            del _states[key]


def shared_state(config_dir: Path, run_dir: Path) -> StorageState | None:
    """The live state for these dirs, if a connection holds it (for tests and tools)."""
    with _lock:
        return _states.get(_key(config_dir, run_dir))


__all__ = ["open_storage", "shared_state", "StorageDriver"]
