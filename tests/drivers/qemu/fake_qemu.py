"""A stand-in QEMU for process tests: speaks just enough QMP on the fd it is given.

    python fake_qemu.py MODE FD

MODE: ``ok`` (greets, answers cont/stop/query-status/system_powerdown/quit;
power-down sends POWERDOWN + SHUTDOWN and exits 0), ``die`` (writes an error
like QEMU's and exits 1), ``stubborn`` (like ok, but ignores SIGTERM),
``mute`` (accepts the connection and never greets), ``stays`` (as with
``-no-shutdown``: after the power-down events it waits for ``quit``), ``deaf``
(a guest that ignores the power button: no events, no exit).
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import time


def send(conn: socket.socket, obj: dict) -> None:
    conn.sendall(json.dumps(obj).encode() + b"\r\n")


def event(name: str, data: dict | None = None) -> dict:
    now = time.time()
    return {"event": name, "data": data or {},
            "timestamp": {"seconds": int(now), "microseconds": int(now % 1 * 1e6)}}


def serve(conn: socket.socket, mode: str) -> int:
    send(conn, {"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0},
                                    "package": "fake"}, "capabilities": []}})
    decoder = json.JSONDecoder()
    buf = ""
    status = "prelaunch"
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return 0
        buf += chunk.decode()
        while buf.strip():
            try:
                msg, end = decoder.raw_decode(buf.lstrip())
            except ValueError:
                break
            buf = buf.lstrip()[end:]
            cmd, ident = msg.get("execute"), msg.get("id")
            reply = {"return": {}, **({"id": ident} if ident is not None else {})}
            if cmd == "cont":
                status = "running"
                send(conn, reply)
                send(conn, event("RESUME"))
            elif cmd == "stop":
                status = "paused"
                send(conn, reply)
                send(conn, event("STOP"))
            elif cmd == "query-status":
                send(conn, {**reply, "return": {"status": status,
                                                "running": status == "running"}})
            elif cmd == "system_powerdown":
                send(conn, reply)
                if mode == "deaf":
                    continue
                send(conn, event("POWERDOWN"))
                send(conn, event("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"}))
                if mode != "stays":
                    return 0
                status = "shutdown"
            elif cmd == "quit":
                send(conn, reply)
                return 0
            elif cmd == "qmp_capabilities":
                send(conn, reply)
            else:
                send(conn, {"error": {"class": "CommandNotFound",
                                      "desc": f"The command {cmd} has not been found"},
                            **({"id": ident} if ident is not None else {})})


def main() -> int:
    mode, fd = sys.argv[1], int(sys.argv[2])
    if mode == "die":
        print("qemu-system-x86_64: -device bogus: 'bogus' is not a valid device model name",
              file=sys.stderr)
        return 1
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    listener = socket.socket(fileno=fd)
    conn, _ = listener.accept()
    if mode == "mute":
        time.sleep(3600)
    return serve(conn, mode)


if __name__ == "__main__":
    sys.exit(main())
