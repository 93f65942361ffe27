"""The shell's own commands: help, quit, exit."""

from __future__ import annotations

from pyvirt.cli.command import COMMANDS, GROUPS, STRING, Opt, command
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.helpcmd import all_help, command_help, group_help
from pyvirt.cli.parser import Invocation

GRP = "virsh"


@command("help", GRP, "print help",
         "Prints global help, command specific help, or help for a\n    group of related commands",
         Opt("command", STRING, "Prints global help, command specific help, or help for a "
             "group of related commands"),
         needs_connection=False)
def cmd_help(ctl: Ctl, inv: Invocation) -> bool:
    name = inv.get("command")
    if name is None:
        ctl.print(all_help())
    elif name in COMMANDS:
        ctl.print(command_help(COMMANDS[name]))
    elif name in GROUPS:
        ctl.print(group_help(name))
    else:
        raise CommandFailed(f"command or command group '{name}' doesn't exist")
    return True


def _quit(ctl: Ctl, inv: Invocation) -> bool:
    from pyvirt.cli.shell import QuitShell
    raise QuitShell()


command("quit", GRP, "quit this interactive terminal", "", needs_connection=False)(_quit)
command("exit", GRP, "quit this interactive terminal", "", needs_connection=False)(_quit)
