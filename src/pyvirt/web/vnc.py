"""The VNC console: find a domain's VNC server from its live XML and bridge it to
a WebSocket (noVNC in the page), so no VNC port is ever exposed to browsers.

Where the server connects, by the host's URI:

* no host in the URI (this machine): the UNIX socket (``<graphics socket=…>`` or
  ``<listen type='socket'>``) or the loopback port the live XML names;
* ``+ssh`` URIs: through an ssh tunnel, as virt-manager does: the system ``ssh``
  with the URI's user, port, keyfile, ``no_verify`` and ``known_hosts`` runs
  ``-W ADDRESS:PORT`` and the bridge relays its stdin/stdout (the process is
  reaped when the bridge closes);
* other remote URIs (``+tcp``, ``+tls``, plain): straight to the display's port on
  the address it listens on, or on the URI's host when it listens on every address.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
from dataclasses import dataclass
from typing import Any

from lxml import etree

from pyvirt import uri as urimod
from pyvirt.errors import VIR_ERR_OPERATION_INVALID, VIR_ERR_OPERATION_UNSUPPORTED, error

SSH_TRANSPORTS = ("ssh", "libssh", "libssh2")
ANY_ADDRESS = ("", "0.0.0.0", "::")


@dataclass(frozen=True)
class VncTarget:
    """Where the VNC server is reached: a UNIX socket path, a TCP host and port, or
    (``ssh_argv``) a command whose stdin/stdout lead to it."""

    socket: str = ""
    host: str = ""
    port: int = 0
    ssh_argv: tuple[str, ...] = ()


@dataclass(frozen=True)
class Display:
    """The VNC display a live XML describes: a socket, or a port and listen address."""

    socket: str = ""
    port: int = 0
    listen: str = ""


def display_of(live_xml: str) -> Display:
    """The domain's VNC display, or libvirtError saying why there is none (yet)."""
    root = etree.fromstring(live_xml.encode())
    graphics = root.find("./devices/graphics[@type='vnc']")
    if graphics is None:
        raise error(VIR_ERR_OPERATION_INVALID, "the domain has no VNC display")
    listen = graphics.find("./listen")
    socket = graphics.get("socket") or (listen.get("socket", "") if listen is not None else "")
    if socket:
        return Display(socket=socket)
    port = int(graphics.get("port") or -1)
    if port <= 0:
        raise error(VIR_ERR_OPERATION_INVALID,
                    "the VNC display has no port yet (is the domain running?)")
    address = graphics.get("listen") or (listen.get("address", "") if listen is not None
                                         else "")
    return Display(port=port, listen=address or "")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def ssh_tunnel_argv(parsed: Any, address: str, port: int) -> tuple[str, ...]:
    """``ssh ... -W ADDRESS:PORT HOST`` with the URI's user, port and options."""
    argv = [os.environ.get("PYVIRT_SSH", "ssh")]
    if parsed.port:
        argv += ["-p", str(parsed.port)]
    if parsed.user:
        argv += ["-l", parsed.user]
    keyfile = parsed.param("keyfile")
    if keyfile:
        argv += ["-i", keyfile]
    if parsed.param("no_verify", "0") not in ("0", ""):
        argv += ["-o", "StrictHostKeyChecking=no"]
    known_hosts = parsed.param("known_hosts")
    if known_hosts:
        argv += ["-o", f"UserKnownHostsFile={known_hosts}"]
    argv += ["-e", "none", "-o", "BatchMode=yes", "-W", f"{_bracketed(address)}:{port}",
             "--", parsed.host or "localhost"]
    return tuple(argv)


def vnc_target(uri: str, live_xml: str) -> VncTarget:
    """How to reach the VNC server of a running domain on ``uri``'s host, or
    libvirtError saying why it cannot be reached."""
    parsed = urimod.parse(uri)
    display = display_of(live_xml)
    remote = bool(parsed.host) and parsed.host != "localhost" or \
        parsed.transport in SSH_TRANSPORTS
    if not remote:
        if display.socket:
            return VncTarget(socket=display.socket)
        host = "127.0.0.1" if display.listen in ANY_ADDRESS else display.listen
        if not _is_loopback(host):
            raise error(VIR_ERR_OPERATION_UNSUPPORTED,
                        f"the VNC display listens on {host}, not on loopback")
        return VncTarget(host=host, port=display.port)
    if display.socket:
        raise error(VIR_ERR_OPERATION_UNSUPPORTED,
                    f"the VNC display of a domain on {parsed.host or 'localhost'} is a UNIX "
                    "socket there; give it a TCP port to reach it from here")
    if parsed.transport in SSH_TRANSPORTS:
        address = "127.0.0.1" if display.listen in ANY_ADDRESS else display.listen
        return VncTarget(host=address, port=display.port,
                         ssh_argv=ssh_tunnel_argv(parsed, address, display.port))
    if display.listen in ANY_ADDRESS:
        return VncTarget(host=parsed.host, port=display.port)
    if _is_loopback(display.listen) and not _is_loopback(parsed.host or ""):
        raise error(VIR_ERR_OPERATION_UNSUPPORTED,
                    f"the VNC display listens on {display.listen} of {parsed.host} only: "
                    "reach it through a qemu+ssh:// URI (an ssh tunnel)")
    return VncTarget(host=display.listen, port=display.port)


def describe(target: VncTarget) -> str:
    if target.ssh_argv:
        return f"{target.host}:{target.port} through ssh to {target.ssh_argv[-1]}"
    return target.socket or f"{target.host}:{target.port}"


class VncChannel:
    """A byte stream to the VNC server: ``reader``/``writer``, and ``close()`` that
    also ends and reaps the ssh process of a tunnel."""

    def __init__(self, reader: Any, writer: Any, process: Any = None) -> None:
        self.reader, self.writer, self.process = reader, writer, process

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
        proc = self.process
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def open_vnc(target: VncTarget) -> VncChannel:
    """A :class:`VncChannel` connected to the VNC server (OSError when it cannot be)."""
    if target.ssh_argv:
        return await _open_tunnel(target.ssh_argv)
    if target.socket:
        return VncChannel(*await asyncio.open_unix_connection(target.socket))
    return VncChannel(*await asyncio.open_connection(target.host, target.port))


async def _open_tunnel(argv: tuple[str, ...]) -> VncChannel:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
    except OSError as err:
        raise OSError(err.errno, f"cannot run '{argv[0]}': {err.strerror}") from err
    channel = VncChannel(proc.stdout, proc.stdin, proc)
    # The first bytes are the server's RFB banner, or nothing when ssh failed.
    first = await proc.stdout.read(12)
    if not first:
        problem = (await proc.stderr.read()).decode(errors="replace").strip()
        await channel.close()
        raise OSError(f"ssh tunnel failed: {problem or 'ssh exited'}")
    channel.reader = _Prefixed(first, proc.stdout)
    return channel


class _Prefixed:
    """A stream reader that first gives back bytes already read."""

    def __init__(self, head: bytes, reader: Any) -> None:
        self.head, self.reader = head, reader

    async def read(self, size: int = -1) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        return await self.reader.read(size)

