"""A scripted QMP server for tests: replies to expected commands, fails on others.

The script is a list of :class:`Step`. Each step names the command it expects
(and optionally its arguments), the reply (a ``return`` value or an ``error``),
events to send after the reply, and whether to hang up afterwards. Anything not
in the script is recorded in ``unexpected`` and answered with a GenericError,
so a test asserts ``server.unexpected == []``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

GREETING = {"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7},
                                "package": "fake"}, "capabilities": ["oob"]}}


@dataclass
class Step:
    command: str
    returns: Any = field(default_factory=dict)
    args: dict | None = None               # None: do not check the arguments
    error: tuple[str, str] | None = None   # (class, desc)
    events: list[dict] = field(default_factory=list)  # {"event": NAME, "data": {...}}
    hangup: bool = False                   # close the connection after this step
    no_reply: bool = False                 # send nothing (then hangup, if set)


def event(name: str, data: dict | None = None) -> dict:
    return {"event": name, "data": data or {},
            "timestamp": {"seconds": 1700000000, "microseconds": 250000}}


class FakeQMPServer:
    """Serves one client on a unix socket in a thread, following ``script``."""

    def __init__(self, path: str, script: list[Step], greeting: dict | None = None) -> None:
        self.path = path
        self.script = list(script)
        self.greeting = greeting or GREETING
        self.received: list[dict] = []
        self.unexpected: list[dict] = []
        self.fds: list[int] = []            # descriptors the client sent (SCM_RIGHTS)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)
        self._sock.bind(path)
        self._sock.listen(1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _messages(self, conn: socket.socket):
        """JSON objects as they arrive (QMP clients need not end them with newlines);
        descriptors passed along are kept in ``fds``, as QEMU keeps them for ``getfd``."""
        decoder = json.JSONDecoder()
        buf = ""
        while True:
            chunk, ancdata, _flags, _addr = conn.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
            for level, kind, data in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    usable = len(data) - len(data) % 4
                    self.fds += list(memoryview(data[:usable]).cast("i"))
            if not chunk:
                return
            buf += chunk.decode()
            while True:
                buf = buf.lstrip()
                try:
                    msg, end = decoder.raw_decode(buf)
                except ValueError:
                    break
                buf = buf[end:]
                yield msg

    def _send(self, conn: socket.socket, obj: dict) -> None:
        try:
            conn.sendall(json.dumps(obj).encode() + b"\r\n")
        except OSError:
            pass  # the client went away; the test sees what it received

    def _serve(self) -> None:
        conn, _ = self._sock.accept()
        with conn:
            self._send(conn, self.greeting)
            for msg in self._messages(conn):
                self.received.append(msg)
                cmd = msg.get("execute")
                reply_id = {"id": msg["id"]} if "id" in msg else {}
                if cmd == "qmp_capabilities":
                    self._send(conn, {"return": {}, **reply_id})
                    continue
                step = self.script[0] if self.script else None
                if step is None or step.command != cmd or (
                        step.args is not None and step.args != msg.get("arguments", {})):
                    self.unexpected.append(msg)
                    self._send(conn, {"error": {"class": "GenericError",
                                                "desc": f"unexpected {cmd}"}, **reply_id})
                    continue
                self.script.pop(0)
                if not step.no_reply:
                    if step.error:
                        self._send(conn, {"error": {"class": step.error[0],
                                                    "desc": step.error[1]}, **reply_id})
                    else:
                        self._send(conn, {"return": step.returns, **reply_id})
                for ev in step.events:
                    self._send(conn, ev)
                if step.hangup:
                    break
        self._sock.close()

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)
