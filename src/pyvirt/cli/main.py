"""pyvirsh's entry point: virsh's global options, then commands or the shell."""

from __future__ import annotations

import sys
from typing import Sequence

from pyvirt.cli import binding, commands  # noqa: F401 - registers the families
from pyvirt.cli.ctl import Ctl
from pyvirt.cli.helpcmd import usage
from pyvirt.cli.parser import ParseError
from pyvirt.cli.shell import QuitShell, interactive, parse_argv, run_invocations, run_line
from pyvirt.cli.versions import format_version

# Short options taking a value, and long spellings of every option.
_WITH_VALUE = {"c": "connect", "d": "debug", "e": "escape", "k": "keepalive-interval",
               "K": "keepalive-count", "l": "log"}
_LONG = {"connect": "c", "debug": "d", "escape": "e", "help": "h", "keepalive-interval": "k",
         "keepalive-count": "K", "log": "l", "quiet": "q", "readonly": "r", "timing": "t",
         "version": "version"}


class UsageError(Exception):
    """A bad global option; ``str(err)`` is virsh's message."""


def parse_globals(argv: Sequence[str]) -> tuple[dict[str, object], list[str]]:
    """getopt_long("+:c:d:e:hk:K:l:qrtvV") as virsh uses it: options stop at
    the first word that is not one."""
    opts: dict[str, object] = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return opts, list(argv[i + 1:])
        if word.startswith("--"):
            name, eq, value = word[2:].partition("=")
            key = _LONG.get(name)
            if key is None:
                raise UsageError(f"unsupported option '{word}'. See --help.")
            if key == "version":
                opts["version"] = value if eq else "short"
            elif key in _WITH_VALUE:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise UsageError(f"option '-{key}'/'--{name}' requires an argument")
                    value = argv[i]
                opts[key] = value
            else:
                if eq:
                    raise UsageError(f"unsupported option '{word}'. See --help.")
                opts[key] = True
            i += 1
            continue
        if word.startswith("-") and len(word) > 1:
            j = 1
            while j < len(word):
                key = word[j]
                if key in _WITH_VALUE:
                    value = word[j + 1:]
                    if not value:
                        i += 1
                        if i >= len(argv):
                            raise UsageError(f"option '-{key}'/'--{_WITH_VALUE[key]}' "
                                             "requires an argument")
                        value = argv[i]
                    opts[key] = value
                    break
                if key not in "hqrtvV":
                    raise UsageError(f"unsupported option '-{key}'. See --help.")
                opts[key] = True
                j += 1
            i += 1
            continue
        break
    return opts, list(argv[i:])


def main(argv: Sequence[str] | None = None) -> int:
    """Run pyvirsh; returns (and, as a console script, exits with) 0 or 1."""
    argv = list(sys.argv[1:] if argv is None else argv)
    lv = binding.load()
    ctl = Ctl(lv)
    try:
        opts, rest = parse_globals(argv)
        _apply(ctl, opts)
    except UsageError as err:
        ctl.error(str(err))
        return 1
    if opts.get("h"):
        ctl.print(usage())
        return 0
    version = "long" if opts.get("V") else "short" if opts.get("v") else opts.get("version")
    if version:
        ctl.print(format_version(lv, str(version)))
        return 0
    if ctl.uri is not None and not ctl.connect_or_report():   # -c: virsh connects first
        return 1
    try:
        if not rest:
            ok = interactive(ctl)
        elif len(rest) == 1:
            ok = run_line(ctl, rest[0])
        else:
            try:
                invocations = parse_argv(rest)
            except ParseError as err:
                ctl.error(str(err))
                return 1
            ok = run_invocations(ctl, invocations)
    except QuitShell:
        ok = True
    finally:
        sys.stdout.flush()
        ctl.close()
    return 0 if ok else 1


def _apply(ctl: Ctl, opts: dict[str, object]) -> None:
    ctl.uri = opts.get("c") or None  # type: ignore[assignment]
    ctl.readonly = bool(opts.get("r"))
    ctl.quiet = bool(opts.get("q"))
    ctl.timing = bool(opts.get("t"))
    if "e" in opts:
        ctl.escape = str(opts["e"])
    if "d" in opts:
        try:
            ctl.debug = int(str(opts["d"]))
        except ValueError:
            raise UsageError("option -d takes a numeric argument") from None
        if not 0 <= ctl.debug <= 4:
            ctl.error(f"ignoring debug level {ctl.debug} out of range [0-4]")
    keepalive = {"k": 5, "K": 6}
    for key in ("k", "K"):
        if key in opts:
            try:
                keepalive[key] = int(str(opts[key]))
            except ValueError:
                raise UsageError(f"Invalid value for option -{key}") from None
            if keepalive[key] < 0:
                raise UsageError(f"option -{key} requires a positive integer argument")
    if "k" in opts or "K" in opts:
        ctl.keepalive = (keepalive["k"], keepalive["K"])


if __name__ == "__main__":
    sys.exit(main())
