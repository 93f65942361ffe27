"""A small synchronous client of the remote program, made from the protocol table.

``RemoteClient.call("DOMAIN_LOOKUP_BY_NAME", name="vm")`` encodes the args
struct, sends a CALL, waits for the REPLY with the same serial and decodes
the ret struct (a dict; a one-field ret gives the value). An ERROR reply is
raised as the ``libvirtError`` it carries. Event MESSAGEs that arrive in
between are decoded and kept in :attr:`events`. Used by the tests and as the
base of the remote driver.
"""

from __future__ import annotations

import socket
from typing import Any

from pyvirt.errors import VIR_ERR_RPC, VIR_FROM_REMOTE, error, libvirtError
from pyvirt.remote import schema, transport
from pyvirt.remote.protocol import REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, TABLE
from pyvirt.remote.schema import ProtocolTable
from pyvirt.rpc.packet import (FrameSplitter, Header, Message, MessageStatus, MessageType,
                               encode_message)


def decode_error(body: bytes) -> libvirtError:
    """The ``libvirtError`` a ``remote_error`` body describes."""
    err = schema.remote_error.decode(body)
    return libvirtError(err["message"] or "unknown error", code=err["code"],
                        domain=err["domain"], level=err["level"], str1=err["str1"],
                        str2=err["str2"], str3=err["str3"], int1=err["int1"], int2=err["int2"])


class RemoteClient:
    """One connection to a daemon (a connected stream socket)."""

    def __init__(self, sock: socket.socket, table: ProtocolTable = TABLE):
        self.sock = sock
        self.table = table
        self._by_name = {p.name: p for p in table.procedures.values()}
        self._serial = 0
        self._splitter = FrameSplitter()
        self._pending: list[Message] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.other: list[Message] = []     # keepalive and stream messages seen

    @classmethod
    def unix(cls, path: str, timeout: float | None = 30) -> "RemoteClient":
        return cls(transport.connect_unix(path, timeout))

    @classmethod
    def tcp(cls, host: str, port: int, timeout: float | None = 30) -> "RemoteClient":
        return cls(transport.connect_tcp(host, port, timeout))

    @classmethod
    def tls(cls, host: str, port: int, *, ca_file: str, cert_file: str | None = None,
            key_file: str | None = None, verify_hostname: bool = True,
            timeout: float | None = 30) -> "RemoteClient":
        """Connect over TLS as libvirt's client does (see :mod:`transport`)."""
        return cls(transport.connect_tls(host, port, ca_file=ca_file, cert_file=cert_file,
                                         key_file=key_file, verify_hostname=verify_hostname,
                                         timeout=timeout))

    def close(self) -> None:
        self.sock.close()

    # --- calls ----------------------------------------------------------------------
    def call(self, name: str, /, **args: Any) -> Any:
        proc = self._by_name[name]
        body = proc.args.encode(args) if proc.args is not None else b""
        reply = self.call_raw(proc.number, body)
        if proc.ret is None:
            return None
        value = proc.ret.decode(reply)
        return value[proc.ret.field_names[0]] if len(proc.ret.fields) == 1 else value

    def call_raw(self, number: int, body: bytes = b"", *, prog: int = REMOTE_PROGRAM,
                 vers: int = REMOTE_PROTOCOL_VERSION) -> bytes:
        """Send a CALL; the OK reply's body (an ERROR reply raises)."""
        self._serial += 1
        serial = self._serial
        self.send(Header(prog, vers, number, MessageType.CALL, serial, MessageStatus.OK), body)
        reply = self.wait_reply(serial)
        if reply.header.status == MessageStatus.ERROR:
            raise decode_error(reply.body)
        return reply.body

    def open(self, uri: str = "test:///default", flags: int = 0) -> None:
        """The handshake the real virsh does, minus keepalive."""
        self.call("AUTH_LIST")
        self.call("CONNECT_OPEN", name=uri, flags=flags)

    # --- frames ---------------------------------------------------------------------
    def send(self, header: Header, body: bytes = b"") -> None:
        self.sock.sendall(encode_message(header, body))

    def receive(self) -> Message:
        """The next message from the daemon (events are also stored)."""
        while not self._pending:
            data = self.sock.recv(65536)
            if not data:
                raise error(VIR_ERR_RPC, "connection closed by the daemon",
                            domain=VIR_FROM_REMOTE)
            self._pending.extend(self._splitter.feed(data))
        return self._pending.pop(0)

    def wait_reply(self, serial: int) -> Message:
        while True:
            message = self.receive()
            header = message.header
            if header.type == MessageType.REPLY and header.serial == serial:
                return message
            self._note(message)

    def wait_event_into(self) -> None:
        """Block until one more message arrives and file it (events go to ``events``)."""
        self._note(self.receive())

    def wait_event(self) -> tuple[str, dict[str, Any]]:
        """Block until an event message arrives; (name, decoded body)."""
        while not self.events:
            self._note(self.receive())
        return self.events.pop(0)

    def _note(self, message: Message) -> None:
        header = message.header
        event = self.table.events.get(header.proc) if header.prog == REMOTE_PROGRAM else None
        if header.type == MessageType.MESSAGE and event is not None:
            self.events.append((event.name, event.body.decode(message.body)))
        else:
            self.other.append(message)
