"""virsh's command grammar: splitting lines and binding options."""

from __future__ import annotations

import pytest

from pyvirt.cli.command import ARGV, BOOL, DATA, NUMBER, STRING, Command, Opt
from pyvirt.cli.parser import ParseError, bind, parse, split_commands


def _cmd() -> Command:
    return Command("setmem", "domain", "h", "d", (
        Opt("domain", DATA, "dom", required=True),
        Opt("size", NUMBER, "size", required=True),
        Opt("xpath", STRING, "x", positional=False),
        Opt("flag", BOOL, "f"),
        Opt("extra", ARGV, "rest"),
    ), lambda ctl, inv: True)


def test_split_on_semicolons_and_whitespace():
    assert split_commands("list --all; dominfo  test ;uri") == [
        ["list", "--all"], ["dominfo", "test"], ["uri"]]


def test_split_quotes_and_escapes():
    assert split_commands("a 'b c' \"d \\\"e\\\"\" f\\ g") == [["a", "b c", 'd "e"', "f g"]]


def test_split_semicolon_inside_quotes_is_text():
    assert split_commands("echo 'a;b'") == [["echo", "a;b"]]


def test_split_comment_ends_line():
    assert split_commands("uri # list") == [["uri"]]


def test_split_drops_empty_commands():
    assert split_commands(" ; ;uri;") == [["uri"]]


def test_split_unterminated_quote():
    with pytest.raises(ParseError):
        split_commands("dominfo 'test")


def test_bind_positional_in_order():
    inv = bind(_cmd(), ["vm", "1024", "a", "b"])
    assert inv.values == {"domain": "vm", "size": "1024", "extra": ["a", "b"]}


def test_bind_named_forms():
    inv = bind(_cmd(), ["--domain=vm", "--size", "5", "--flag", "--xpath", "/x"])
    assert inv.values == {"domain": "vm", "size": "5", "flag": True, "xpath": "/x"}


def test_non_positional_option_is_not_filled_by_operands():
    inv = bind(_cmd(), ["vm", "1", "x"])
    assert "xpath" not in inv.values and inv.get("extra") == ["x"]


def test_double_dash_makes_the_rest_operands():
    inv = bind(_cmd(), ["--", "--vm", "1"])
    assert inv.get("domain") == "--vm"


@pytest.mark.parametrize("words, message", [
    (["vm", "1", "--fl"], "command 'setmem' doesn't support option --fl"),
    (["vm", "1", "--flag=1"], "invalid '=' after option --flag"),
    (["vm", "--size"], "expected syntax: --size <number>"),
    (["vm", "--xpath"], "expected syntax: --xpath <string>"),
    (["vm", "1", "--flag", "--flag"], "option --flag already seen"),
    ([], "command 'setmem' requires <domain> option"),
    (["vm"], "command 'setmem' requires --size option"),
])
def test_bind_errors_are_virsh_messages(words, message):
    with pytest.raises(ParseError) as err:
        bind(_cmd(), words)
    assert str(err.value) == message


def test_unexpected_data_without_free_operand():
    cmd = Command("uri", "host", "h", "d", (), lambda ctl, inv: True)
    with pytest.raises(ParseError, match="unexpected data 'x'"):
        bind(cmd, ["x"])


def test_parse_unknown_command():
    with pytest.raises(ParseError, match="unknown command: 'bogus'"):
        parse([["bogus"]], {})


def test_parse_binds_every_command_before_running():
    cmd = _cmd()
    with pytest.raises(ParseError):
        parse([["setmem", "vm", "1"], ["setmem", "--bad"]], {"setmem": cmd})
