"""The libvirt-python-compatible API: classes, open functions, events, errors.

Flat private modules, re-exported here (and again by ``pyvirt``)::

    connect.py   virConnect, open, openReadOnly, openAuth, getVersion
                 (its domain/network/storage/event calls: _conn_*.py mixins)
    domain.py    virDomain            snapshot.py  virDomainSnapshot
    network.py   virNetwork           storage.py   virStoragePool, virStorageVol
    stream.py    virStream (+ StreamEnd, the driver's side)
    event.py     the default event loop and virEvent* functions
    errors.py    registerErrorHandler, virGetLastError* ...

A name is imported from its module on first use (PEP 562), so a process that
only needs ``pyvirt.uri`` or the driver registry (pyvirtd) never loads the
client API.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module (under pyvirt) that defines it
_HOME = {
    "getVersion": "api.connect", "open": "api.connect", "openAuth": "api.connect",
    "openReadOnly": "api.connect", "virConnect": "api.connect",
    "virDomain": "api.domain",
    "registerErrorHandler": "api.errors", "virGetLastError": "api.errors",
    "virGetLastErrorCode": "api.errors", "virGetLastErrorDomain": "api.errors",
    "virGetLastErrorMessage": "api.errors", "virInitialize": "api.errors",
    "virResetLastError": "api.errors",
    "_eventInvokeHandleCallback": "api.event", "_eventInvokeTimeoutCallback": "api.event",
    "virEventAddHandle": "api.event", "virEventAddTimeout": "api.event",
    "virEventInvokeFreeCallback": "api.event", "virEventRegisterDefaultImpl": "api.event",
    "virEventRegisterImpl": "api.event", "virEventRemoveHandle": "api.event",
    "virEventRemoveTimeout": "api.event", "virEventRunDefaultImpl": "api.event",
    "virEventUpdateHandle": "api.event", "virEventUpdateTimeout": "api.event",
    "virNetwork": "api.network", "virDomainSnapshot": "api.snapshot",
    "virStoragePool": "api.storage", "virStorageVol": "api.storage",
    "virStream": "api.stream", "libvirtError": "errors",
}

__all__ = list(_HOME)


def load_public(namespace: dict[str, Any], name: str) -> Any:
    """The public API object ``name``, imported from its module and kept in
    ``namespace`` (a module's globals) so the next lookup is a plain one."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pyvirt.{home}"), name)
    namespace[name] = value
    return value


def __getattr__(name: str) -> Any:
    return load_public(globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
