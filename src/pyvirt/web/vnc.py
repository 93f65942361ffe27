"""The VNC console: find a domain's VNC server from its live XML and bridge it to
a WebSocket (noVNC in the page), so no VNC port is ever exposed to browsers.

Only for URIs on this machine (no host in the URI): the server connects to the
UNIX socket (``<graphics type='vnc' socket=…>``) or loopback port the live XML
names. Remote hosts would need ``virDomainOpenGraphicsFD``.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import Any

from lxml import etree

from pyvirt import uri as urimod
from pyvirt.errors import VIR_ERR_OPERATION_INVALID, VIR_ERR_OPERATION_UNSUPPORTED, error


@dataclass(frozen=True)
class VncTarget:
    """Where the VNC server listens: a UNIX socket path, or a TCP host and port."""

    socket: str = ""
    host: str = ""
    port: int = 0


def vnc_target(uri: str, live_xml: str) -> VncTarget:
    """The VNC endpoint of a running domain, or libvirtError saying why there is none."""
    parsed = urimod.parse(uri)
    if parsed.host:
        raise error(VIR_ERR_OPERATION_UNSUPPORTED,
                    f"VNC consoles of remote hosts ({uri}) are not supported yet")
    root = etree.fromstring(live_xml.encode())
    graphics = root.find("./devices/graphics[@type='vnc']")
    if graphics is None:
        raise error(VIR_ERR_OPERATION_INVALID, "the domain has no VNC display")
    listen = graphics.find("./listen")
    socket = graphics.get("socket") or (listen.get("socket", "") if listen is not None else "")
    if socket:
        return VncTarget(socket=socket)
    port = int(graphics.get("port") or -1)
    if port <= 0:
        raise error(VIR_ERR_OPERATION_INVALID,
                    "the VNC display has no port yet (is the domain running?)")
    host = graphics.get("listen") or (listen.get("address", "") if listen is not None
                                      else "") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise error(VIR_ERR_OPERATION_UNSUPPORTED,
                    f"the VNC display listens on {host}, not on loopback")
    return VncTarget(host=host, port=port)


def describe(target: VncTarget) -> str:
    return target.socket or f"{target.host}:{target.port}"


async def open_vnc(target: VncTarget) -> tuple[Any, Any]:
    """(reader, writer) connected to the VNC server."""
    if target.socket:
        return await asyncio.open_unix_connection(target.socket)
    return await asyncio.open_connection(target.host, target.port)
