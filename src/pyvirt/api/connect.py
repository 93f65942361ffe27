"""``virConnect`` and the functions that open one (``open``, ``openReadOnly``,
``openAuth``, ``getVersion``).

A ``virConnect`` wraps the ``DriverConnection`` that the driver registry
returned for its URI. Every method checks its arguments (and, for a read-only
connection, refuses mutating calls), then calls the driver's entry point;
an entry point the driver lacks answers ``VIR_ERR_NO_SUPPORT`` naming the
libvirt function, as libvirt does.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable

from pyvirt import uri as _uri
from pyvirt.api._checks import check_writable, entry_point, implements
from pyvirt.api._clientconf import load_config
from pyvirt.api._conn_domains import ConnectDomains
from pyvirt.api._conn_events import ConnectEvents
from pyvirt.api._conn_networks import ConnectNetworks
from pyvirt.api._conn_storage import ConnectStorage
from pyvirt.api._lasterror import (last_error, not_recorded, recorded, recorded_function,
                                   reset_last_error)
from pyvirt.api._registry import load_drivers
from pyvirt.api.event import EventDispatchQueue
from pyvirt.api.stream import virStream
from pyvirt.constants import VIR_CONNECT_RO
from pyvirt.drivers.base import DriverConnection, open_connection
from pyvirt.drivers.common.connection import LIB_VERSION  # 9.0.0 as 9_000_000
from pyvirt.errors import (VIR_ERR_INVALID_CONN, VIR_ERR_NO_SUPPORT, VIR_FROM_DOMAIN,
                           VIR_FROM_NETWORK, VIR_FROM_STORAGE, VIR_FROM_STREAMS, error)


@recorded
class virConnect(ConnectDomains, ConnectNetworks, ConnectStorage,  # noqa: N801
                 ConnectEvents):
    """libvirt-python's virConnect over one ``DriverConnection``.

    This module holds the connection itself (lifetime, plumbing, host
    information, streams); the domain, network, storage and event calls live
    in the ``_conn_*`` mixins.
    """

    def __init__(self, _obj: DriverConnection | None = None) -> None:
        self._drv = _obj
        self._closed = _obj is None
        self._driver_closed = _obj is None
        self._refs = 0
        self._refs_lock = threading.RLock()   # a GC finalizer may re-enter
        self._event_queue: EventDispatchQueue | None = None
        self._event_lock = threading.Lock()
        self._legacy_lifecycle: dict[Any, int] = {}
        self._callbacks: dict[tuple[str, int], str] = {}   # (family, id) -> deregister entry
        self._close_cb: tuple[Callable[..., Any], Any] | None = None

    # --- lifetime: handles keep the driver connection open (libvirt's refcount) ---
    def _adopt(self, handle: object) -> None:
        """Count ``handle`` (a virDomain, virNetwork...) as a reference on this connection."""
        with self._refs_lock:
            self._refs += 1
        weakref.finalize(handle, self._release)

    def _release(self) -> None:
        with self._refs_lock:
            self._refs -= 1
            last = self._refs == 0
        if last and self._closed:
            self._close_driver()

    def _close_driver(self) -> None:
        if not self._driver_closed and self._drv is not None:
            self._driver_closed = True
            self._drv.close()

    # --- plumbing used by every handle class ---------------------------------
    def _table(self, family: str, func: str, domain: int, *, handle: bool = False) -> Any:
        """The driver table of ``family``; a call on a closed connection (or,
        from a handle, on a driver connection that is gone) is VIR_ERR_INVALID_CONN."""
        if self._driver_closed or (self._closed and not handle):
            raise error(VIR_ERR_INVALID_CONN, func, domain=domain)
        table = getattr(self._drv, family)
        if table is None:
            raise error(VIR_ERR_NO_SUPPORT, func, domain=domain)
        return table

    def _entry(self, family: str, entry: str, func: str, domain: int, *,
               handle: bool = False) -> Callable[..., Any]:
        return entry_point(self._table(family, func, domain, handle=handle), entry, func,
                           domain)

    def _handle_entry(self, family: str, entry: str, func: str,
                      domain: int) -> Callable[..., Any]:
        """Like ``_entry``, for calls made through a handle: they outlive close()."""
        return self._entry(family, entry, func, domain, handle=True)

    def _has(self, family: str, entry: str) -> bool:
        return (not self._driver_closed and self._drv is not None
                and implements(getattr(self._drv, family), entry))

    def _check_open(self, func: str, domain: int = VIR_FROM_DOMAIN) -> None:
        if self._closed:
            raise error(VIR_ERR_INVALID_CONN, func, domain=domain)

    def _readonly(self) -> bool:
        return bool(self._drv is not None and self._drv.readonly)

    def _check_writable(self, func: str, domain: int) -> None:
        check_writable(self._readonly(), func, domain)

    def _hv(self, entry: str, func: str, domain: int = VIR_FROM_DOMAIN) -> Callable[..., Any]:
        return self._entry("hypervisor", entry, func, domain)

    def _net(self, entry: str, func: str) -> Callable[..., Any]:
        return self._entry("network", entry, func, VIR_FROM_NETWORK)

    def _pool(self, entry: str, func: str) -> Callable[..., Any]:
        return self._entry("storage", entry, func, VIR_FROM_STORAGE)

    def __repr__(self) -> str:
        uri = self._drv.uri if self._drv is not None else None
        return f"<pyvirt.virConnect {uri!r}>"

    def __enter__(self) -> "virConnect":
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self._closed:
            self.close()

    def c_pointer(self) -> int:
        return id(self)

    # --- the connection itself -----------------------------------------------
    def close(self) -> int:
        """Close the connection: calls through it fail with VIR_ERR_INVALID_CONN.

        Like libvirt, handles (domains, networks...) still hold the driver
        connection: it really closes when the last one goes. Returns 1 while
        handles remain, else 0.
        """
        if self._closed or self._drv is None:
            raise error(VIR_ERR_INVALID_CONN, "virConnectClose")
        self._closed = True
        self._drop_callbacks()
        with self._refs_lock:
            remaining = self._refs
        if remaining == 0:
            self._close_driver()
            return 0
        return 1

    def getType(self) -> str:  # noqa: N802
        return self._hv("connect_get_type", "virConnectGetType")()

    def getVersion(self) -> int:  # noqa: N802
        return self._hv("connect_get_version", "virConnectGetVersion")()

    def getLibVersion(self) -> int:  # noqa: N802
        self._check_open("virConnectGetLibVersion")
        if self._has("hypervisor", "connect_get_lib_version"):
            return self._drv.hypervisor.connect_get_lib_version()
        self._table("hypervisor", "virConnectGetLibVersion", VIR_FROM_DOMAIN)
        return LIB_VERSION

    def getHostname(self) -> str:  # noqa: N802
        return self._hv("connect_get_hostname", "virConnectGetHostname")()

    def getURI(self) -> str:  # noqa: N802
        self._check_open("virConnectGetURI")
        if self._has("hypervisor", "connect_get_uri"):
            return self._drv.hypervisor.connect_get_uri()
        self._table("hypervisor", "virConnectGetURI", VIR_FROM_DOMAIN)
        return self._drv.uri

    def getCapabilities(self) -> str:  # noqa: N802
        return self._hv("connect_get_capabilities", "virConnectGetCapabilities")()

    def getDomainCapabilities(self, emulatorbin=None, arch=None, machine=None,  # noqa: N802
                              virttype=None, flags=0) -> str:
        return self._hv("connect_get_domain_capabilities", "virConnectGetDomainCapabilities")(
            emulatorbin, arch, machine, virttype, flags)

    def getSysinfo(self, flags=0) -> str:  # noqa: N802
        return self._hv("connect_get_sysinfo", "virConnectGetSysinfo")(flags)

    def getInfo(self) -> list[Any]:  # noqa: N802
        """[model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]; the
        driver answers memory in KiB and libvirt-python shows MiB."""
        info = list(self._hv("node_get_info", "virNodeGetInfo")())
        info[1] = info[1] >> 10
        return info

    def getMaxVcpus(self, type) -> int:  # noqa: N802,A002 - libvirt-python's name
        return self._hv("connect_get_max_vcpus", "virConnectGetMaxVcpus")(type)

    def getFreeMemory(self) -> int:  # noqa: N802
        return self._hv("node_get_free_memory", "virNodeGetFreeMemory")()

    def getCellsFreeMemory(self, startCell, maxCells) -> list[int]:  # noqa: N802,N803
        return list(self._hv("node_get_cells_free_memory", "virNodeGetCellsFreeMemory")(
            startCell, maxCells))

    def getSecurityModel(self) -> list[str]:  # noqa: N802
        """[model, doi], as libvirt-python returns virNodeGetSecurityModel."""
        return list(self._hv("node_get_security_model", "virNodeGetSecurityModel")())

    def getCPUMap(self, flags=0) -> tuple[int, list[bool], int]:  # noqa: N802
        """(CPU count, online flag per CPU, online count), as libvirt-python returns it."""
        cpumap, online, total = self._hv("node_get_cpu_map", "virNodeGetCPUMap")(
            True, True, flags)
        return (total, [bool(cpumap[i // 8] >> (i % 8) & 1) for i in range(total)], online)

    def isAlive(self) -> int:  # noqa: N802
        self._check_open("virConnectIsAlive")
        if self._has("hypervisor", "connect_is_alive"):
            return int(self._drv.hypervisor.connect_is_alive())
        return 1

    def isSecure(self) -> int:  # noqa: N802
        self._check_open("virConnectIsSecure")
        if self._has("hypervisor", "connect_is_secure"):
            return int(self._drv.hypervisor.connect_is_secure())
        self._table("hypervisor", "virConnectIsSecure", VIR_FROM_DOMAIN)
        return 1

    def isEncrypted(self) -> int:  # noqa: N802
        self._check_open("virConnectIsEncrypted")
        if self._has("hypervisor", "connect_is_encrypted"):
            return int(self._drv.hypervisor.connect_is_encrypted())
        self._table("hypervisor", "virConnectIsEncrypted", VIR_FROM_DOMAIN)
        return 0

    def setKeepAlive(self, interval, count) -> int:  # noqa: N802
        """The driver's ``connect_set_keep_alive`` (0, or 1 when the peer cannot);
        a driver without one (the test driver: in libvirt only the remote driver
        has keepalive) answers VIR_ERR_NO_SUPPORT."""
        set_keep_alive = self._hv("connect_set_keep_alive", "virConnectSetKeepAlive")
        return int(set_keep_alive(interval, count) or 0)

    def registerCloseCallback(self, cb: Callable[..., Any], opaque: Any) -> int:  # noqa: N802
        """Call ``cb(conn, reason, opaque)`` if the connection drops (a remote one can;
        a local connection never does)."""
        table = self._table("hypervisor", "virConnectRegisterCloseCallback", VIR_FROM_DOMAIN)
        self._close_cb = (cb, opaque)
        if self._has("hypervisor", "connect_register_close_callback"):
            table.connect_register_close_callback(self._connection_lost)
        return 0

    def unregisterCloseCallback(self) -> None:  # noqa: N802
        self._close_cb = None
        if self._has("hypervisor", "connect_unregister_close_callback"):
            self._drv.hypervisor.connect_unregister_close_callback()

    def _connection_lost(self, reason: int) -> None:
        entry = self._close_cb
        if entry is not None:
            entry[0](self, reason, entry[1])

    def newStream(self, flags=0) -> virStream:  # noqa: N802
        self._check_open("virStreamNew", VIR_FROM_STREAMS)
        stream = virStream(self)
        stream._flags = flags
        return stream

    # --- errors --------------------------------------------------------------
    @not_recorded
    def virConnGetLastError(self) -> tuple[Any, ...]:  # noqa: N802
        return last_error() or (0, 0, None, 0, None, None, None, 0, 0)

    @not_recorded
    def virConnResetLastError(self) -> None:  # noqa: N802
        reset_last_error()


# --- opening ---------------------------------------------------------------------
def _choose_uri(name: str | None) -> str:
    """libvirt's order: an alias from libvirt.conf, the name itself,
    ``$LIBVIRT_DEFAULT_URI``, ``uri_default`` from libvirt.conf."""
    config = load_config()
    if name:
        return config.alias(name) or name
    text = _uri.resolve(None) or config.uri_default
    if text is None:
        raise _uri.no_default_uri()
    return text


def _open(name: str | None, flags: int) -> virConnect:
    text = _choose_uri(name)
    parsed = _uri.parse(text)
    load_drivers(parsed)
    readonly = bool(flags & VIR_CONNECT_RO)
    return virConnect(open_connection(parsed, flags, readonly))


@recorded_function
def open(name=None) -> virConnect:  # noqa: A001 - libvirt-python's name
    """Open a read-write connection to ``name`` (or ``$LIBVIRT_DEFAULT_URI``)."""
    return _open(name, 0)


@recorded_function
def openReadOnly(name=None) -> virConnect:  # noqa: N802
    """Open a read-only connection: mutating calls fail with VIR_ERR_OPERATION_DENIED."""
    return _open(name, VIR_CONNECT_RO)


@recorded_function
def openAuth(uri: str, auth: list, flags: int = 0) -> virConnect:  # noqa: N802
    """Open with an auth description ``[credtypes, callback, cbdata]``: a daemon
    that asks for SASL gets the credentials from libvirt's auth.conf, then from
    ``callback(creds, cbdata)`` (local drivers need none: it is not called)."""
    from pyvirt.drivers.remote.auth import supplied
    with supplied(auth):
        return _open(uri, flags)


@recorded_function
def getVersion(name: str | None = None) -> int | tuple[int, int]:  # noqa: N802
    """libvirt's version; with a driver ``name``, ``(libVer, typeVer)``."""
    if name is None:
        return LIB_VERSION
    return (LIB_VERSION, LIB_VERSION)
