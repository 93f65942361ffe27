"""Which driver modules ``open()`` loads before probing a URI.

Each driver package named in :data:`DRIVER_MODULES` exposes ``register()`` in
its ``__init__``, which adds its driver(s) to ``pyvirt.drivers.base``'s
registry. Packages are imported on the first open, in order (probe order);
one that is not there yet is skipped, and one without ``register`` yet is
retried on the next open.
"""

from __future__ import annotations

import importlib
import threading

DRIVER_MODULES: list[str] = ["pyvirt.drivers.test", "pyvirt.drivers.qemu", "pyvirt.drivers.lxc"]

_lock = threading.Lock()
_loaded: set[str] = set()


def load_drivers() -> None:
    """Import and register every available driver module (once each)."""
    with _lock:
        for name in DRIVER_MODULES:
            if name in _loaded:
                continue
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as err:
                if err.name is not None and name.startswith(err.name):
                    _loaded.add(name)
                    continue
                raise
            register = getattr(module, "register", None)
            if register is None:
                continue            # the module exists but is not finished: retry later
            register()
            _loaded.add(name)
