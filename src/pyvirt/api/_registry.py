"""Which driver modules ``open()`` loads before probing a URI.

Each module named in :data:`DRIVER_MODULES` exposes ``register()``, which adds
its driver(s) to ``pyvirt.drivers.base``'s registry. Modules are imported on
the first open, in order; a module that is not there yet is skipped.
"""

from __future__ import annotations

import importlib
import threading

DRIVER_MODULES: list[str] = ["pyvirt.drivers.test"]

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
