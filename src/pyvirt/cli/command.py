"""Declarative command tables: options, commands, the registry of families.

Each family module (``host.py``, ``domain.py`` ...) declares its commands with
:func:`command`; the parser and ``help`` read only these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

# Option kinds, as virsh's vshCmdOptType.
BOOL = "bool"       # --flag
STRING = "string"   # --opt <string>
NUMBER = "number"   # --opt <number>
DATA = "data"       # a required positional operand (<domain>, <file>)
ARGV = "argv"       # the rest of the operands, repeatable


@dataclass(frozen=True)
class Opt:
    """One option of a command, as virsh declares it."""

    name: str
    kind: str
    help: str
    required: bool = False
    positional: bool = True     # may be filled by a bare operand (non-bool only)
    shown_named: bool = False   # an ARGV that help writes as ``[--name] <string>``

    @property
    def takes_value(self) -> bool:
        return self.kind != BOOL

    @property
    def value_word(self) -> str:
        return "number" if self.kind == NUMBER else "string"

    def synopsis(self) -> str:
        """The option as virsh's SYNOPSIS line writes it."""
        if self.kind == BOOL:
            return f"[--{self.name}]"
        if self.kind == ARGV and self.shown_named:
            return f"[[--{self.name}] <string>]..."
        if self.kind == ARGV:
            return f"<{self.name}>..." if self.required else f"[<{self.name}>]..."
        if self.required:
            return f"<{self.name}>"
        if self.kind == DATA:
            return f"[<{self.name}>]"
        return f"[--{self.name} <{self.value_word}>]"

    def label(self) -> str:
        """The option's left column in virsh's OPTIONS section."""
        if self.kind == BOOL:
            return f"--{self.name}"
        if self.kind == ARGV and not self.shown_named:
            return f"<{self.name}>"
        if self.required or self.kind == DATA or self.shown_named:
            return f"[--{self.name}] <{self.value_word}>"
        return f"--{self.name} <{self.value_word}>"


Handler = Callable[..., bool]


@dataclass
class Command:
    """A command: its name, family, texts, options and handler(ctl, opts)."""

    name: str
    group: str
    help: str
    description: str
    opts: tuple[Opt, ...]
    handler: Handler
    needs_connection: bool = True
    exclusive: tuple[tuple[str, str], ...] = ()

    def opt(self, name: str) -> Opt | None:
        for o in self.opts:
            if o.name == name:
                return o
        return None


@dataclass
class Group:
    """A command family as virsh's help lists it."""

    title: str
    keyword: str
    commands: list[Command] = field(default_factory=list)


GROUPS: dict[str, Group] = {}
COMMANDS: dict[str, Command] = {}


def group(keyword: str, title: str) -> str:
    """Register a family once; returns its keyword for :func:`command`."""
    GROUPS.setdefault(keyword, Group(title, keyword))
    return keyword


def command(name: str, grp: str, help: str, description: str, *opts: Opt,
            needs_connection: bool = True,
            exclusive: tuple[tuple[str, str], ...] = ()) -> Callable[[Handler], Handler]:
    """Decorator declaring a command with its options."""
    def register(handler: Handler) -> Handler:
        cmd = Command(name, grp, help, description, tuple(opts), handler,
                      needs_connection, exclusive)
        COMMANDS[name] = cmd
        GROUPS[grp].commands.append(cmd)
        return handler
    return register


# Common options, spelled once.
def domain_opt(help: str = "domain name, id or uuid") -> Opt:
    return Opt("domain", DATA, help, required=True)


def flag(name: str, help: str) -> Opt:
    return Opt(name, BOOL, help)


CONFIG_LIVE_CURRENT = (
    flag("config", "affect next boot"),
    flag("live", "affect running domain"),
    flag("current", "affect current domain"),
)
