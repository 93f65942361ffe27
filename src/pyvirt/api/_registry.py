"""Which driver modules ``open()`` loads before probing a URI.

Each driver package named in :data:`DRIVER_MODULES` exposes ``register()`` in
its ``__init__``, which adds its driver(s) to ``pyvirt.drivers.base``'s
registry. A package is imported the first time a URI it may serve is opened
(:data:`MAY_SERVE`), so ``pyvirsh -c test:///default`` never pays for importing
the QEMU, LXC or remote drivers; packages load in list order (probe order). One
that is not there is skipped, and one without ``register`` yet is retried on
the next open. ``load_drivers()`` without a URI loads them all (the daemon).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Callable

from pyvirt.drivers.base import order_drivers

#: Probe order: the in-memory test driver, then the remote driver (which takes
#: URIs with a transport or host, and ``qemu:///system``-style URIs only while a
#: daemon's socket exists), then the in-process drivers.
DRIVER_MODULES: list[str] = ["pyvirt.drivers.test", "pyvirt.drivers.remote",
                             "pyvirt.drivers.qemu", "pyvirt.drivers.lxc"]


def _local_test(uri: Any) -> bool:
    return uri.driver == "test" and not uri.transport and not uri.host


#: For each module, whether it may accept a parsed URI (cheap, imports nothing).
MAY_SERVE: dict[str, Callable[[Any], bool]] = {
    "pyvirt.drivers.test": _local_test,
    "pyvirt.drivers.remote": lambda uri: not _local_test(uri) and uri.param("root") is None,
    "pyvirt.drivers.qemu": lambda uri: uri.driver == "qemu",
    "pyvirt.drivers.lxc": lambda uri: uri.driver == "lxc",
}

_lock = threading.Lock()
_loaded: set[str] = set()


def load_drivers(uri: Any = None) -> None:
    """Import and register the driver modules that may serve ``uri`` (all without one)."""
    with _lock:
        for name in DRIVER_MODULES:
            if name in _loaded:
                continue
            if uri is not None and not MAY_SERVE.get(name, lambda _u: True)(uri):
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
        order_drivers(_probe_rank)


def _probe_rank(driver: Any) -> int:
    """A driver's place in DRIVER_MODULES, whatever order the modules loaded in.
    A driver an application registered itself probes right after the test driver,
    before the remote driver's fall-back to the daemon socket."""
    module = type(driver).__module__
    for index, name in enumerate(DRIVER_MODULES):
        if module == name or module.startswith(name + "."):
            return 2 * index
    return 1
