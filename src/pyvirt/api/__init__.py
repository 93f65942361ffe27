"""The libvirt-python-compatible API: classes, open functions, events, errors.

Flat private modules, re-exported here (and again by ``pyvirt``)::

    connect.py   virConnect, open, openReadOnly, openAuth, getVersion
                 (its domain/network/storage/event calls: _conn_*.py mixins)
    domain.py    virDomain            snapshot.py  virDomainSnapshot
    network.py   virNetwork           storage.py   virStoragePool, virStorageVol
    stream.py    virStream (+ StreamEnd, the driver's side)
    event.py     the default event loop and virEvent* functions
    errors.py    registerErrorHandler, virGetLastError* ...
"""

from pyvirt.api.connect import getVersion, open, openAuth, openReadOnly, virConnect
from pyvirt.api.domain import virDomain
from pyvirt.api.errors import (registerErrorHandler, virGetLastError, virGetLastErrorCode,
                               virGetLastErrorDomain, virGetLastErrorMessage, virInitialize,
                               virResetLastError)
from pyvirt.api.event import (_eventInvokeHandleCallback, _eventInvokeTimeoutCallback,
                              virEventAddHandle, virEventAddTimeout, virEventInvokeFreeCallback,
                              virEventRegisterDefaultImpl, virEventRegisterImpl,
                              virEventRemoveHandle, virEventRemoveTimeout,
                              virEventRunDefaultImpl, virEventUpdateHandle,
                              virEventUpdateTimeout)
from pyvirt.api.network import virNetwork
from pyvirt.api.snapshot import virDomainSnapshot
from pyvirt.api.storage import virStoragePool, virStorageVol
from pyvirt.api.stream import virStream
from pyvirt.errors import libvirtError

__all__ = [
    "getVersion", "open", "openAuth", "openReadOnly", "virConnect", "virDomain",
    "registerErrorHandler", "virGetLastError", "virGetLastErrorCode", "virGetLastErrorDomain",
    "virGetLastErrorMessage", "virInitialize", "virResetLastError",
    "_eventInvokeHandleCallback", "_eventInvokeTimeoutCallback",
    "virEventAddHandle", "virEventAddTimeout", "virEventInvokeFreeCallback",
    "virEventRegisterDefaultImpl", "virEventRegisterImpl", "virEventRemoveHandle",
    "virEventRemoveTimeout", "virEventRunDefaultImpl", "virEventUpdateHandle",
    "virEventUpdateTimeout", "virNetwork", "virDomainSnapshot", "virStoragePool",
    "virStorageVol", "virStream", "libvirtError",
]
