"""virsh's command-line grammar: split a string into commands, bind options.

Pure functions, no I/O. Errors are :class:`ParseError` carrying virsh's text
(without the ``error: `` prefix); a parse error means nothing runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from pyvirt.cli.command import ARGV, BOOL, DATA, Command


class ParseError(Exception):
    """The input cannot be parsed; ``str(err)`` is virsh's message."""


@dataclass
class Invocation:
    """A command with the values bound to its options."""

    cmd: Command
    values: dict[str, object] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str, default: object = None) -> object:
        return self.values.get(name, default)


def split_commands(line: str) -> list[list[str]]:
    """Split a command string into commands of words, as virsh does.

    Whitespace separates words; ``;`` ends a command; ``#`` starting a word
    comments out the rest of the line; single quotes are literal, double
    quotes honour backslash escapes, a backslash outside quotes escapes one
    character.
    """
    commands: list[list[str]] = []
    words: list[str] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in " \t\n":
            i += 1
        if i >= n:
            break
        if line[i] == ";":
            commands.append(words)
            words = []
            i += 1
            continue
        if line[i] == "#":
            j = line.find("\n", i)
            i = n if j < 0 else j
            continue
        word: list[str] = []
        quote = ""
        while i < n:
            c = line[i]
            if not quote and (c in " \t\n" or c == ";"):
                break
            if quote != "'" and c == "\\":
                i += 1
                if i < n:
                    word.append(line[i])
                i += 1
                continue
            if c in "'\"" and (not quote or quote == c):
                quote = "" if quote else c
                i += 1
                continue
            word.append(c)
            i += 1
        if quote:
            raise ParseError("missing \"")
        words.append("".join(word))
    commands.append(words)
    return [c for c in commands if c]


def bind(cmd: Command, words: Sequence[str]) -> Invocation:
    """Bind ``words`` (after the command name) to ``cmd``'s options."""
    inv = Invocation(cmd)
    data_only = False
    it = iter(range(len(words)))
    for i in it:
        word = words[i]
        if not data_only and word == "--":
            data_only = True
            continue
        if not data_only and word.startswith("--") and len(word) > 2:
            name, eq, value = word[2:].partition("=")
            opt = cmd.opt(name)
            if opt is None:
                raise ParseError(f"command '{cmd.name}' doesn't support option --{name}")
            if opt.kind == BOOL:
                if eq:
                    raise ParseError(f"invalid '=' after option --{name}")
                _store(inv, opt.name, True, repeat=False)
                continue
            if not eq:
                nxt = next(it, None)
                if nxt is None:
                    raise ParseError(f"expected syntax: --{name} <{opt.value_word}>")
                value = words[nxt]
            _store(inv, opt.name, value, repeat=opt.kind == ARGV)
            continue
        opt = _next_positional(cmd, inv)
        if opt is None:
            raise ParseError(f"unexpected data '{word}'")
        _store(inv, opt.name, word, repeat=opt.kind == ARGV)
    _check_required(inv)
    return inv


def _store(inv: Invocation, name: str, value: object, *, repeat: bool) -> None:
    if repeat:
        inv.values.setdefault(name, [])
        inv.values[name].append(value)  # type: ignore[union-attr]
        return
    if name in inv.values:
        raise ParseError(f"option --{name} already seen")
    inv.values[name] = value


def _next_positional(cmd: Command, inv: Invocation):
    for opt in cmd.opts:
        if opt.kind == BOOL or not opt.positional:
            continue
        if opt.kind == ARGV or opt.name not in inv.values:
            return opt
    return None


def _check_required(inv: Invocation) -> None:
    for opt in inv.cmd.opts:
        if opt.required and opt.name not in inv.values:
            shown = f"<{opt.name}>" if opt.kind in (DATA, ARGV) else f"--{opt.name}"
            raise ParseError(f"command '{inv.cmd.name}' requires {shown} option")


def parse(words_list: Sequence[Sequence[str]], table: Mapping[str, Command]) -> list[Invocation]:
    """Bind every command of a line; the first error stops everything."""
    result = []
    for words in words_list:
        cmd = table.get(words[0])
        if cmd is None:
            raise ParseError(f"unknown command: '{words[0]}'")
        result.append(bind(cmd, words[1:]))
    return result
