"""``console``: the guest's serial console on this terminal, as virsh's.

The console is a ``virStream`` opened with ``virDomain.openConsole``. Guest
output goes to stdout as it comes; what is typed goes to the guest, with the
terminal in raw mode (restored on the way out). The escape character (``^]``,
or virsh's ``-e``) ends the session; so does the stream ending (the domain
stopped, or another session took the console with ``--force``).
"""

from __future__ import annotations

import os
import select
import sys
import termios
import threading
import tty
from typing import Any

from pyvirt.cli.command import STRING, Opt, command, domain_opt, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.parser import Invocation

GRP = "domain"
#: how long one wait for typed input lasts before the stream's end is checked again
INPUT_POLL_S = 0.2


def escape_byte(escape: str) -> int:
    """virsh's ``-e`` spelling (``^]``, ``^X`` or one character) as the byte typed."""
    if len(escape) == 2 and escape[0] == "^":
        return ord(escape[1].upper()) ^ 0x40
    return ord(escape[0])


@command("console", GRP, "connect to the guest console",
         "Connect the virtual serial console for the guest",
         domain_opt(),
         Opt("devname", STRING, "character device name", positional=False),
         flag("force", "force console connection (disconnect already connected sessions)"),
         flag("safe", "only connect if safe console handling is supported"))
def cmd_console(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    dom = ctl.domain(inv)
    try:
        state = dom.info()[0]
    except lv.libvirtError as err:
        raise CommandFailed("Unable to get domain status", err) from err
    if state != lv.VIR_DOMAIN_RUNNING and state != lv.VIR_DOMAIN_PAUSED:
        raise CommandFailed("The domain is not running")
    stdin = sys.stdin
    if not stdin.isatty():
        raise CommandFailed("Cannot run interactive console without a controlling TTY")
    flags = (lv.VIR_DOMAIN_CONSOLE_FORCE if inv.has("force") else 0) | \
        (lv.VIR_DOMAIN_CONSOLE_SAFE if inv.has("safe") else 0)
    ctl.print_extra(f"Connected to domain '{dom.name()}'\n")
    escape = ctl.escape or "^]"
    hint = f" (Ctrl + {escape[1]})" if escape.startswith("^") and len(escape) == 2 else ""
    ctl.print_extra(f"Escape character is {escape}{hint}\n")
    ctl.out.flush()
    stream = ctl.conn.newStream(0)
    try:
        dom.openConsole(inv.get("devname"), stream, flags)
    except lv.libvirtError as err:
        raise CommandFailed(None, err) from err
    try:
        run_console(lv, stream, stdin.fileno(), sys.stdout.buffer, escape_byte(escape))
    finally:
        ctl.print_extra("\n")
        ctl.out.flush()
    return True


def run_console(lv: Any, stream: Any, in_fd: int, out: Any, escape: int) -> None:
    """Copy guest output to ``out`` and keystrokes to the guest until the escape
    byte is typed or the stream ends; the terminal is raw meanwhile."""
    ended = threading.Event()

    def pump_output() -> None:
        try:
            while True:
                data = stream.recv(65536)
                if not isinstance(data, bytes) or not data:
                    break
                out.write(data)
                out.flush()
        except lv.libvirtError:
            pass
        finally:
            ended.set()

    saved = termios.tcgetattr(in_fd) if os.isatty(in_fd) else None
    reader = threading.Thread(target=pump_output, name="pyvirsh-console", daemon=True)
    try:
        if saved is not None:
            tty.setraw(in_fd)
        reader.start()
        while not ended.is_set():
            ready, _, _ = select.select([in_fd], [], [], INPUT_POLL_S)
            if not ready:
                continue
            data = os.read(in_fd, 4096)
            if not data:
                break
            cut = data.find(bytes([escape]))
            if cut >= 0:
                if cut:
                    stream.send(data[:cut])
                break
            stream.send(data)
    finally:
        if saved is not None:
            termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)
        try:
            stream.abort()
        except lv.libvirtError:
            pass
        reader.join(timeout=2)
