"""Which libvirt-python-compatible module pyvirsh talks to.

pyvirsh uses only the public libvirt-python surface, through :func:`load`.
Test hook: ``PYVIRT_CLI_BINDING=libvirt`` selects the real libvirt-python
module instead of pyvirt, so the shell can be checked against real libvirt.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

BINDING_ENV = "PYVIRT_CLI_BINDING"


def load() -> ModuleType:
    """The binding module: ``pyvirt`` normally, ``libvirt`` under the test hook."""
    name = "libvirt" if os.environ.get(BINDING_ENV) == "libvirt" else "pyvirt"
    return importlib.import_module(name)
