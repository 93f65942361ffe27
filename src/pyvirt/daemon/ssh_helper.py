"""``pyvirt-ssh-helper``: relay stdin/stdout to pyvirtd's unix socket.

libvirt clients reach a remote daemon over SSH by running a helper on the
remote host (``virt-ssh-helper URI``, else ``nc -U SOCKET``) and speaking RPC
through its stdin/stdout. This is that helper for pyvirtd: installed as
``virt-ssh-helper`` on the remote host, the real virsh's ``qemu+ssh://`` and
``test+ssh://`` URIs reach pyvirtd; ``test+ext:///default?command=...`` runs
it locally (what the tests do).

``pyvirt-ssh-helper [-r] [-V] URI``: ``-r`` picks the read-only socket; the
socket is the URI's ``?socket=`` or pyvirtd's default for the user.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading

from pyvirt import uri as _uri
from pyvirt.daemon.config import DaemonConfig

VERSION = "9.0.0"


def socket_for(text: str | None, readonly: bool) -> str:
    """The daemon socket a URI's client should reach."""
    if text:
        parsed = _uri.parse(text)
        explicit = parsed.param("socket")
        if explicit:
            return explicit
    rw_path, ro_path = DaemonConfig().socket_paths()
    return ro_path if readonly else rw_path


def relay(sock: socket.socket, stdin_fd: int = 0, stdout_fd: int = 1) -> None:
    """Copy both ways until the daemon closes (or stdin ends and the daemon follows)."""
    def upstream() -> None:
        try:
            while True:
                data = os.read(stdin_fd, 65536)
                if not data:
                    break
                sock.sendall(data)
        except OSError:
            pass
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    threading.Thread(target=upstream, daemon=True).start()
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            break
        if not data:
            break
        view = memoryview(data)
        while view:
            written = os.write(stdout_fd, view)
            view = view[written:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyvirt-ssh-helper",
                                     description="relay stdin/stdout to pyvirtd's socket")
    parser.add_argument("-r", "--readonly", action="store_true", help="use the read-only socket")
    parser.add_argument("-V", "--version", action="version",
                        version=f"pyvirt-ssh-helper (pyvirt) {VERSION}")
    parser.add_argument("uri", nargs="?", help="the URI the client opens (qemu:///system)")
    args = parser.parse_args(argv)
    path = socket_for(args.uri, args.readonly)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as err:
        print(f"pyvirt-ssh-helper: cannot connect to {path}: {err.strerror}", file=sys.stderr)
        return 1
    with sock:
        relay(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
