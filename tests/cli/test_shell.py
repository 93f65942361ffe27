"""The shell engine in-process: global options, help layout, run loop."""

from __future__ import annotations

import io

import pytest

from pyvirt.cli import binding, commands  # noqa: F401 - registers the commands
from pyvirt.cli.command import COMMANDS, GROUPS
from pyvirt.cli.ctl import Ctl
from pyvirt.cli.helpcmd import command_help
from pyvirt.cli.main import UsageError, parse_globals
from pyvirt.cli.shell import interactive, run_line
from pyvirt.cli.versions import dotted


def test_globals_stop_at_first_command_word():
    opts, rest = parse_globals(["-c", "test:///default", "-q", "list", "-r"])
    assert opts == {"c": "test:///default", "q": True} and rest == ["list", "-r"]


def test_globals_long_and_joined_forms():
    opts, rest = parse_globals(["--connect=test:///x", "-rt", "-d0", "--version=long"])
    assert opts == {"c": "test:///x", "r": True, "t": True, "d": "0", "version": "long"}
    assert rest == []


@pytest.mark.parametrize("argv, message", [
    (["-x"], "unsupported option '-x'. See --help."),
    (["--foo"], "unsupported option '--foo'. See --help."),
    (["-c"], "option '-c'/'--connect' requires an argument"),
])
def test_globals_errors(argv, message):
    with pytest.raises(UsageError) as err:
        parse_globals(argv)
    assert str(err.value) == message


def test_binding_hook(monkeypatch):
    monkeypatch.setenv("PYVIRT_CLI_BINDING", "libvirt")
    assert binding.load().__name__ == "libvirt"
    monkeypatch.delenv("PYVIRT_CLI_BINDING")
    assert binding.load().__name__ == "pyvirt"


def test_dotted_version():
    assert dotted(9000000) == "9.0.0" and dotted(1002003) == "1.2.3"


def test_help_layout():
    text = command_help(COMMANDS["setmem"])
    assert text.startswith("  NAME\n    setmem - change memory allocation\n\n  SYNOPSIS\n"
                           "    setmem <domain> <size> [--config] [--live] [--current]\n\n")
    assert "    [--domain] <string>  domain name, id or uuid\n" in text
    assert "    --config         affect next boot\n" in text


def test_every_command_belongs_to_a_group():
    grouped = {c.name for g in GROUPS.values() for c in g.commands}
    assert grouped == set(COMMANDS)


def _ctl(quiet: bool = False) -> Ctl:
    return Ctl(binding.load(), uri="test:///default", quiet=quiet,
               out=io.StringIO(), err=io.StringIO())


def test_parse_error_runs_nothing():
    ctl = _ctl()
    assert run_line(ctl, "help quit; list --foo") is False
    assert ctl.out.getvalue() == ""
    assert ctl.err.getvalue() == "error: command 'list' doesn't support option --foo\n"


def test_failed_help_reports_and_adds_blank_line():
    ctl = _ctl()
    assert run_line(ctl, "help bogus") is False
    assert ctl.err.getvalue() == "error: command or command group 'bogus' doesn't exist\n"
    assert ctl.out.getvalue() == "\n"


def test_quiet_drops_trailing_blank_line():
    ctl = _ctl(quiet=True)
    assert run_line(ctl, "help quit") is True
    assert ctl.out.getvalue().endswith("    quit\n\n")


def test_interactive_echoes_piped_lines_and_quits():
    ctl = _ctl()
    ok = interactive(ctl, stdin=io.StringIO("help quit\nquit\nhelp quit\n"))
    out = ctl.out.getvalue()
    assert ok is True
    assert out.startswith("Welcome to virsh, the virtualization interactive terminal.\n")
    assert out.endswith("virsh # quit\n\n")
    assert out.count("  NAME\n") == 1
