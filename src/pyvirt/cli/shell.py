"""Running commands (vshCommandRun) and the interactive loop."""

from __future__ import annotations

import os
import sys
import time
from typing import Sequence

from pyvirt.cli.command import COMMANDS
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.parser import Invocation, ParseError, parse, split_commands

BANNER = ("Welcome to virsh, the virtualization interactive terminal.\n\n"
          "Type:  'help' for help with commands\n"
          "       'quit' to quit\n\n")
HISTORY_FILE = os.path.join(os.path.expanduser("~"), ".cache", "pyvirsh", "history")


class QuitShell(Exception):
    """Raised by ``quit``/``exit`` to leave the shell after this command."""


def parse_line(line: str) -> list[Invocation]:
    """A command string (``"cmd1; cmd2"``) bound to the command table."""
    return parse(split_commands(line), COMMANDS)


def parse_argv(argv: Sequence[str]) -> list[Invocation]:
    """Separate argv words form exactly one command, with no quoting rules."""
    return parse([list(argv)], COMMANDS)


def run_invocations(ctl: Ctl, invocations: list[Invocation]) -> bool:
    """Run commands in order; the result is the last command's."""
    ok = True
    for inv in invocations:
        if inv.cmd.needs_connection and ctl.conn is None and not ctl.connect_or_report():
            return False
        started = time.perf_counter()
        try:
            ok = bool(inv.cmd.handler(ctl, inv))
        except QuitShell:
            raise
        except CommandFailed as failure:
            for line in failure.lines():
                ctl.error(line)
            ok = False
        except ctl.binding.libvirtError as err:
            ctl.error(err.get_error_message())
            ok = False
        if ctl.timing:
            elapsed_ms = (time.perf_counter() - started) * 1000
            ctl.print(f"\n(Time: {elapsed_ms:.3f} ms)\n\n")
        else:
            ctl.print_extra("\n")
    return ok


def run_line(ctl: Ctl, line: str) -> bool:
    """Parse then run a command string; a parse error runs nothing."""
    try:
        invocations = parse_line(line)
    except ParseError as err:
        ctl.error(str(err))
        return False
    return run_invocations(ctl, invocations)


def interactive(ctl: Ctl, stdin=None) -> bool:
    """The ``virsh # `` loop; readline history when reading a terminal.

    Like virsh, the session's status is success whatever its commands did."""
    stdin = stdin or sys.stdin
    tty = stdin.isatty()
    if tty:
        _load_history()
    ctl.imode = True
    ctl.print_extra(BANNER)
    prompt = "virsh > " if ctl.readonly else "virsh # "
    try:
        while True:
            line = _read(ctl, prompt, stdin, tty)
            if line is None:
                break
            if not line.strip():
                continue
            try:
                run_line(ctl, line)
            except QuitShell:
                ctl.print("\n")
                break
    finally:
        if tty:
            _save_history()
    return True


def _read(ctl: Ctl, prompt: str, stdin, tty: bool) -> str | None:
    if tty:
        try:
            return input(prompt)
        except EOFError:
            ctl.print("\n")
            return None
    ctl.print(prompt)
    line = stdin.readline()
    if not line:
        ctl.print("\n")
        return None
    line = line.rstrip("\n")
    ctl.print(f"{line}\n")
    ctl.out.flush()
    return line


def _load_history() -> None:
    try:
        import readline
        readline.read_history_file(HISTORY_FILE)
    except (ImportError, OSError):
        pass


def _save_history() -> None:
    try:
        import readline
        os.makedirs(os.path.dirname(HISTORY_FILE), exist_ok=True)
        readline.set_history_length(500)
        readline.write_history_file(HISTORY_FILE)
    except (ImportError, OSError):
        pass
