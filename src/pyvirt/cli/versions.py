"""Version numbers as virsh prints them (``9.0.0`` from 9000000)."""

from __future__ import annotations

from types import ModuleType


def dotted(number: int) -> str:
    """libvirt's packed version ``major*1000000 + minor*1000 + micro``."""
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"


def format_version(lv: ModuleType, kind: str) -> str:
    """``-v`` / ``--version[=short]``: the library version; ``-V``: the long text."""
    library = dotted(lv.getVersion())
    if kind != "long":
        return f"{library}\n"
    return (f"Virsh command line tool of libvirt {library}\n"
            "See web site at https://libvirt.org/\n\n"
            "Compiled with support for:\n"
            " Hypervisors: Test\n"
            " Networking: Test\n"
            " Storage: Test\n")
