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

#: guards ``_states``; never held while a state loads (loading starts threads, and a
#: GC finalizer closing a connection in one of them takes this lock: holding it while
#: waiting for that thread to start was a deadlock)
_lock = threading.RLock()   # a GC finalizer may also close a connection on this thread
_states: dict[tuple[Path, Path], StorageState] = {}
#: one load at a time per pair of dirs (their autostart pools start once)
_loading: dict[tuple[Path, Path], threading.Lock] = {}


def _key(config_dir: Path, run_dir: Path) -> tuple[Path, Path]:
    return (Path(config_dir).absolute(), Path(run_dir).absolute())


def open_storage(config_dir: Path, run_dir: Path, readonly: bool = False) -> StorageDriver:
    """A storage connection over the state kept in ``config_dir`` / ``run_dir``."""
    key = _key(config_dir, run_dir)
    with _lock:
        loading = _loading.setdefault(key, threading.Lock())
    with loading:
        with _lock:
            state = _states.get(key)
            if state is not None:
                state.connections += 1
        if state is None:
            fresh = StorageState(PoolStore(*key))
            fresh.load()
            with _lock:
                _states[key] = state = fresh
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
