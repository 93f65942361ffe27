"""Command shapes networks and storage pools share: call one method and report,
dumpxml, define/create from an XML file, autostart, name <-> uuid conversion.

An :class:`ObjectKind` knows how virsh names, looks up and reports one kind of
object; its builders declare the commands, so each family module lists only
what differs (names, help texts, the API call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from pyvirt.cli.command import DATA, Opt, command, flag
from pyvirt.cli.ctl import UUID_RE, CommandFailed, Ctl
from pyvirt.cli.files import read_file
from pyvirt.cli.parser import Invocation
from pyvirt.cli.xpath import XPATH_OPTS, select_opts

# (ctl, inv, object) -> anything; the API call a command makes on its object.
ObjectCall = Callable[[Ctl, Invocation, Any], Any]
# (ctl, inv, xml) -> the new object; the API call that defines / creates it.
XmlCall = Callable[[Ctl, Invocation, str], Any]


def set_autostart(ctl: Ctl, inv: Invocation, obj: Any, subject: str,
                  failed: str = "failed") -> bool:
    """``autostart [--disable]``: ``subject`` names the object as virsh's lines do
    (``network default``, ``domain 'vm'``), ``failed`` starts the failure line."""
    enable = not inv.has("disable")
    verb = "mark" if enable else "unmark"
    ctl.call(f"{failed} to {verb} {subject} as autostarted", obj.setAutostart,
             1 if enable else 0)
    ctl.print_extra(f"{subject[:1].upper()}{subject[1:]} {verb}ed as autostarted\n")
    return True


@dataclass(frozen=True)
class ObjectKind:
    """One kind of object (``network``, ``pool``) as its commands name and find it."""

    word: str                   # as messages write it: "network", "pool"
    prefix: str                 # of its command names: "net", "pool"
    group: str                  # the command family
    opt_help: str               # the <word> operand's help
    lookup: Callable[[Ctl, Invocation], Any]   # virsh's uuid-then-name lookup
    by_uuid: str                # the connection's lookup methods, by name
    by_name: str
    xml_inactive: str           # the binding's XMLDesc flag for the inactive definition

    @property
    def label(self) -> str:
        return self.word.capitalize()

    def opt(self, help: str | None = None) -> Opt:
        return Opt(self.word, DATA, help or self.opt_help, required=True)

    def action(self, name: str, help: str, description: str, call: ObjectCall,
               fail_verb: str, done: str, *extra: Opt) -> None:
        """Declare ``<name> <object>``: look up, ``call``, report ``<Label> <name> <done>``."""
        def handler(ctl: Ctl, inv: Invocation) -> bool:
            obj = self.lookup(ctl, inv)
            obj_name = obj.name()
            ctl.call(f"Failed to {fail_verb} {self.word} {obj_name}", call, ctl, inv, obj)
            ctl.print_extra(f"{self.label} {obj_name} {done}\n")
            return True
        command(name, self.group, help, description, self.opt(), *extra)(handler)

    def dumpxml_command(self, help: str, description: str) -> None:
        """Declare ``<prefix>-dumpxml [--inactive] [--xpath] [--wrap]``."""
        def handler(ctl: Ctl, inv: Invocation) -> bool:
            obj = self.lookup(ctl, inv)
            flags = getattr(ctl.binding, self.xml_inactive) if inv.has("inactive") else 0
            ctl.print(select_opts(obj.XMLDesc(flags), inv))
            return True
        command(f"{self.prefix}-dumpxml", self.group, help, description, self.opt(),
                flag("inactive", "show inactive defined XML"), *XPATH_OPTS)(handler)

    def autostart_command(self) -> None:
        """Declare ``<prefix>-autostart [--disable]``."""
        def handler(ctl: Ctl, inv: Invocation) -> bool:
            obj = self.lookup(ctl, inv)
            return set_autostart(ctl, inv, obj, f"{self.word} {obj.name()}")
        command(f"{self.prefix}-autostart", self.group, f"autostart a {self.word}",
                f"Configure a {self.word} to be automatically started at boot.",
                self.opt(), flag("disable", "disable autostarting"))(handler)

    def from_file(self, verb: str, help: str, description: str, call: XmlCall,
                  *extra: Opt, check: Callable[[Invocation], None] | None = None) -> None:
        """Declare ``<prefix>-<verb> <file>``: the object from an XML file; ``check``
        validates the options before the file is read."""
        def handler(ctl: Ctl, inv: Invocation) -> bool:
            if check is not None:
                check(inv)
            path = inv.get("file")
            xml = read_file(path)
            obj = ctl.call(f"Failed to {verb} {self.word} from {path}", call, ctl, inv, xml)
            ctl.print_extra(f"{self.label} {obj.name()} {verb}d from {path}\n")
            return True
        command(f"{self.prefix}-{verb}", self.group, help, description,
                Opt("file", DATA, f"file containing an XML {self.word} description",
                    required=True), *extra)(handler)

    def by_key(self, ctl: Ctl, inv: Invocation, uuid: bool) -> Any:
        """``<prefix>-name`` takes only a uuid, ``<prefix>-uuid`` only a name."""
        text = inv.get(self.word)
        failure = f"failed to get {self.word} '{text}'"
        if uuid and not UUID_RE.match(text):
            raise CommandFailed(failure)
        lookup = getattr(ctl.conn, self.by_uuid if uuid else self.by_name)
        return ctl.call(failure, lookup, text)

    def name_uuid_commands(self, uuid_opt_help: str, name_opt_help: str) -> None:
        """Declare ``<prefix>-uuid`` and ``<prefix>-name``."""
        def to_uuid(ctl: Ctl, inv: Invocation) -> bool:
            ctl.print(self.by_key(ctl, inv, uuid=False).UUIDString() + "\n")
            return True

        def to_name(ctl: Ctl, inv: Invocation) -> bool:
            ctl.print(self.by_key(ctl, inv, uuid=True).name() + "\n")
            return True
        command(f"{self.prefix}-uuid", self.group,
                f"convert a {self.word} name to {self.word} UUID", "",
                self.opt(uuid_opt_help))(to_uuid)
        command(f"{self.prefix}-name", self.group,
                f"convert a {self.word} UUID to {self.word} name", "",
                self.opt(name_opt_help))(to_name)
