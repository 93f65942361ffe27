"""The in-memory test driver: ``test:///default`` and ``test:///path/node.xml``.

Call :func:`register` to put it in the driver registry (``pyvirt.open`` probes it).
"""

from __future__ import annotations

from pyvirt.drivers.base import register_driver
from pyvirt.drivers.test.driver import TestDriver

__all__ = ["TestDriver", "register"]


def register() -> None:
    register_driver(TestDriver())
