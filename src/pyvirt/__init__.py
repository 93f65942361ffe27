"""pyvirt: libvirt rebuilt in Python.

``import pyvirt as libvirt`` gives libvirt-python's surface: the classes
(``virConnect``, ``virDomain``...), ``open``/``openReadOnly``/``openAuth``, the
event functions, ``libvirtError`` and every ``VIR_*`` constant.
"""

from pyvirt.constants import *  # noqa: F401,F403 - every VIR_* constant, as libvirt-python
from pyvirt.api import *  # noqa: F401,F403
from pyvirt.api import __all__ as _api_all

__all__ = list(_api_all) + [name for name in dir() if name.startswith("VIR_")]
