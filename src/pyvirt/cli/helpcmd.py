"""``help`` texts in virsh's layout: a command, a group, everything, ``-h``."""

from __future__ import annotations

from pyvirt.cli.command import GROUPS, Command


def command_help(cmd: Command) -> str:
    """NAME, SYNOPSIS, DESCRIPTION, OPTIONS as ``virsh help CMD`` prints them."""
    synopsis = " ".join([cmd.name] + [o.synopsis() for o in cmd.opts])
    out = [f"  NAME\n    {cmd.name} - {cmd.help}\n\n", f"  SYNOPSIS\n    {synopsis}\n\n"]
    if cmd.description:
        # virsh indents the first line only; later lines print as written
        out.append(f"  DESCRIPTION\n    {cmd.description}\n\n")
    if cmd.opts:
        lines = "".join(f"    {o.label():<15}  {o.help}\n" for o in cmd.opts)
        out.append(f"  OPTIONS\n{lines}\n")
    return "".join(out)


def group_help(keyword: str, plain: bool = False) -> str:
    """A group's heading and its commands, sorted by name."""
    grp = GROUPS[keyword]
    head = f" {grp.title} (help keyword '{grp.keyword}'){'' if plain else ':'}\n"
    rows = "".join(f"    {c.name:<30} {c.help}\n"
                   for c in sorted(grp.commands, key=lambda c: c.name))
    return head + rows


def all_help() -> str:
    """``help`` with no argument."""
    return "Grouped commands:\n\n" + "\n".join(group_help(k) for k in GROUPS) + "\n"


def usage() -> str:
    """``pyvirsh -h``: the global options, then every group."""
    return ("\nvirsh [options]... [<command_string>]\n"
            "virsh [options]... <command> [args...]\n\n"
            "  options:\n"
            "    -c | --connect=URI      hypervisor connection URI\n"
            "    -d | --debug=NUM        debug level [0-4]\n"
            "    -e | --escape <char>    set escape sequence for console\n"
            "    -h | --help             this help\n"
            "    -k | --keepalive-interval=NUM\n"
            "                            keepalive interval in seconds, 0 for disable\n"
            "    -K | --keepalive-count=NUM\n"
            "                            number of possible missed keepalive messages\n"
            "    -l | --log=FILE         output logging to file\n"
            "    -q | --quiet            quiet mode\n"
            "    -r | --readonly         connect readonly\n"
            "    -t | --timing           print timing information\n"
            "    -v                      short version\n"
            "    -V                      long version\n"
            "         --version[=TYPE]   version, TYPE is short or long (default short)\n"
            "  commands (non interactive mode):\n\n"
            + "\n".join(group_help(k, plain=True) for k in GROUPS)
            + "\n  (specify help <group> for details about the commands in the group)\n\n"
            "  (specify help <command> for details about the command)\n\n")
