"""A container's console as a stream (virDomainOpenConsole).

The controller owns the console pty and serves it on ``RUN/NAME.console``, a
unix socket taking one client at a time (a new client takes over). A
:class:`ConsoleSession` connects to it and copies bytes between the socket
and the API's ``StreamEnd``: container output → ``end.write``; what the
application sends → the socket. The socket survives a driver restart, so a
reattached container's console still works.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from typing import Any

from pyvirt.errors import (
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID, VIR_ERR_RPC,
    VIR_FROM_LXC, VIR_FROM_STREAMS, error,
)

log = logging.getLogger(__name__)

CONSOLE_FORCE, CONSOLE_SAFE = 1, 2


class ConsoleSession:
    """One open console: the controller's socket and the stream it feeds."""

    def __init__(self, sock: socket.socket, end: Any) -> None:
        self.sock = sock
        self.end = end
        self.closed = False
        self._lock = threading.Lock()

    def start(self) -> None:
        self.end.on_data(self.send, finish=self.close, abort=self.close)
        threading.Thread(target=self._pump, name="lxc-console", daemon=True).start()

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self.sock.sendall(data)
        except OSError:
            self.hangup()

    def _pump(self) -> None:
        """Socket → stream until EOF or close() (whose shutdown wakes the select);
        the socket is closed here, by its only reader."""
        try:
            while not self.closed:
                try:
                    ready = select.select([self.sock], [], [], 0.5)[0]
                    data = self.sock.recv(65536) if ready else None
                except (OSError, ValueError):
                    data = b""
                if data is None:
                    continue
                if not data:
                    break
                self.end.write(data)
        finally:
            if not self.closed:
                self.end.finish()
            self.close()
            self.sock.close()

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def hangup(self) -> None:
        """The container stopped: the application reads end of stream."""
        if not self.closed:
            self.end.finish()
        self.close()


def check_device(ddef: Any, dev_name: str | None) -> None:
    """libvirt's lxc: only the domain's consoles (``console0``...) can be opened."""
    consoles = list(ddef.node.iterfind("devices/console"))
    if not consoles:
        raise error(VIR_ERR_INTERNAL_ERROR, "cannot find default console device",
                    domain=VIR_FROM_LXC)
    if dev_name is None:
        return
    names = {f"console{i}" for i in range(len(consoles))}
    for console in consoles:
        alias = console.find("alias")
        if alias is not None and alias.get("name"):
            names.add(alias.get("name"))
    if dev_name not in names:
        raise error(VIR_ERR_INTERNAL_ERROR, f"cannot find console device '{dev_name}'",
                    domain=VIR_FROM_LXC)


def open_console(sessions: dict[bytes, ConsoleSession], uuid: bytes, socket_path: str,
                 end: Any, flags: int) -> ConsoleSession:
    current = sessions.get(uuid)
    if current is not None and not current.closed:
        if not flags & CONSOLE_FORCE:
            raise error(VIR_ERR_OPERATION_FAILED,
                        "Active console session exists for this domain", domain=VIR_FROM_LXC)
        # the losing client sees what libvirtd's stream abort gives it
        current.end.abort(error(VIR_ERR_RPC, "stream had I/O failure", domain=VIR_FROM_STREAMS))
        current.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(socket_path)
    except OSError as err:
        sock.close()
        raise error(VIR_ERR_OPERATION_INVALID, f"cannot open console of the container: "
                    f"{err.strerror}", domain=VIR_FROM_LXC) from err
    session = ConsoleSession(sock, end)
    sessions[uuid] = session
    session.start()
    return session
