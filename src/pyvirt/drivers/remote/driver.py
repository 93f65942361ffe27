"""The remote driver's probe: which URIs it takes, and the handshake.

Taken: any URI with a transport (``test+unix:///default``, ``qemu+ssh://h/system``)
or a host (TLS, as libvirt); a local URI (``qemu:///system``) only when the
daemon's socket exists and no local driver took it before (``?root=`` embed
URIs are always left to the in-process drivers); ``test:///`` is always local.
A scheme no driver knows is tried on the daemon socket, so it fails as
libvirt's does: ``Failed to connect socket to '<our socket>': ...``.
"""

from __future__ import annotations

import os
from typing import Any

from pyvirt.drivers.base import DriverConnection
from pyvirt.drivers.remote import transports
from pyvirt.drivers.remote.tables import RemoteTables
from pyvirt.errors import (VIR_ERR_AUTH_FAILED, VIR_ERR_RPC, VIR_ERR_SYSTEM_ERROR, VIR_FROM_REMOTE,
                           VIR_FROM_RPC, error, libvirtError)
from pyvirt.remote.connection import RemoteConnection
from pyvirt.remote.protocol import (FEATURE_PROGRAM_KEEPALIVE, FEATURE_REMOTE_CLOSE_CALLBACK,
                                    FEATURE_REMOTE_EVENT_CALLBACK)

REMOTE_AUTH_NONE, REMOTE_AUTH_SASL = 0, 1
VIR_CONNECT_RO = 1
#: drivers that always run in the client's process (libvirt: test; ours: embed URIs)
_ALWAYS_LOCAL = {"test"}
#: local drivers that a daemon serves when its socket is there
_DAEMON_DRIVERS = {"qemu", "lxc", "network", "storage", "xen", "libxl", "vbox", "ch",
                   "bhyve", "interface", "nodedev", "secret", "nwfilter"}


def daemon_uri(uri: Any) -> str:
    """The URI the daemon is asked to open: transport, host and client parameters
    stripped (``test+tcp://h:1/default?no_verify=1`` -> ``test:///default``), or
    the ``?name=`` parameter as given."""
    name = uri.param("name")
    if name:
        return name
    params = [(k, v) for k, v in uri.params if k not in transports.CLIENT_PARAMS]
    query = "&".join(f"{k}={v}" for k, v in params)
    return f"{uri.driver}://{uri.path}" + (f"?{query}" if query else "")


class RemoteDriver:
    """Registered driver ``remote`` (see the module docstring)."""

    name = "remote"

    def takes(self, uri: Any, readonly: bool) -> bool:
        if uri.transport or uri.host:
            return True
        if uri.driver in _ALWAYS_LOCAL or uri.param("root") or uri.param("embed"):
            return False
        if uri.driver in _DAEMON_DRIVERS:
            return os.path.exists(transports.default_socket(readonly))
        return True            # unknown scheme: the daemon socket decides (and fails)

    def open(self, uri: Any, flags: int, readonly: bool) -> DriverConnection | None:
        if not self.takes(uri, readonly):
            return None
        return connect(uri, flags, readonly)


def connect(uri: Any, flags: int = 0, readonly: bool = False) -> DriverConnection:
    """Open the transport, run libvirt's client handshake, return the tables."""
    target = daemon_uri(uri)
    opened = transports.open_transport(uri, readonly, target)
    tables = RemoteTables(str(uri), uri.transport or ("tls" if uri.host else "unix"),
                          closer=opened.close)
    rpc = RemoteConnection(opened.sock, on_event=tables.on_event,
                           on_close=tables.on_connection_lost)
    tables.attach(rpc)
    try:
        handshake(rpc, target, flags | (VIR_CONNECT_RO if readonly else 0), uri=uri)
    except libvirtError as err:
        tables._closed = True
        # the peer went away (not our close below); a send may see it first
        hung_up = rpc._closed or isinstance(err.__cause__, (BrokenPipeError,
                                                            ConnectionResetError))
        rpc.close()
        said = opened.stderr() if hung_up else ""
        opened.close()
        if hung_up and err.get_error_code() in (VIR_ERR_RPC, VIR_ERR_AUTH_FAILED):
            # libvirt's client: the peer hung up while it waited for the answer
            raise error(VIR_ERR_SYSTEM_ERROR, f"Cannot recv data: {said}: Connection reset "
                        "by peer", domain=VIR_FROM_RPC) from err
        raise
    except BaseException:
        tables._closed = True
        rpc.close()
        opened.close()
        raise
    return DriverConnection(uri=str(uri), hypervisor=tables, network=tables,
                            storage=tables, readonly=readonly, extra={"remote": tables})


def handshake(rpc: RemoteConnection, target: str, flags: int, uri: Any = None) -> None:
    """AUTH_LIST (then a SASL login when the daemon asks for one, with the
    credentials of :func:`pyvirt.drivers.remote.auth.supplied`), keepalive
    probe, CONNECT_OPEN, the callback features (virsh's order)."""
    from pyvirt.drivers.remote import auth as _auth
    types = rpc.call("AUTH_LIST")
    chosen, mech = _auth.choose_auth(types, uri.param("auth") if uri is not None else None)
    if chosen == REMOTE_AUTH_SASL:
        if uri is None:
            raise error(VIR_ERR_AUTH_FAILED, "SASL authentication needs the URI",
                        domain=VIR_FROM_REMOTE)
        _auth.sasl_login(rpc, uri, _auth.current(), wanted_mech=mech)
    rpc.call("CONNECT_SUPPORTS_FEATURE", feature=FEATURE_PROGRAM_KEEPALIVE)
    rpc.call("CONNECT_OPEN", name=target, flags=flags)
    rpc.call("CONNECT_SUPPORTS_FEATURE", feature=FEATURE_REMOTE_EVENT_CALLBACK)
    if rpc.call("CONNECT_SUPPORTS_FEATURE", feature=FEATURE_REMOTE_CLOSE_CALLBACK):
        rpc.call("CONNECT_REGISTER_CLOSE_CALLBACK")
