"""pyvirt: libvirt rebuilt in Python.

``import pyvirt as libvirt`` gives libvirt-python's surface: the classes
(``virConnect``, ``virDomain``...), ``open``/``openReadOnly``/``openAuth``, the
event functions, ``libvirtError`` and every ``VIR_*`` constant. The API
classes and functions are imported on first use (see :mod:`pyvirt.api`), so
``import pyvirt.uri`` or pyvirtd's start does not load the client API.
"""

from typing import Any

from pyvirt.constants import *  # noqa: F401,F403 - every VIR_* constant, as libvirt-python
from pyvirt.api import __all__ as _api_all
from pyvirt.api import load_public as _load_public
from pyvirt.errors import libvirtError  # noqa: F401 - the one class every caller needs

__all__ = list(_api_all) + [name for name in dir() if name.startswith("VIR_")]


def __getattr__(name: str) -> Any:
    return _load_public(globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
