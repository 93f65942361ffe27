"""What a daemon-mode user may be offered: the daemon's access rules (its file,
re-read when it changes) evaluated here for the identity pyvirtd gives a SASL user,
``sasl:NAME``. Pure except :class:`RulesFile`, which reads the file. The daemon
still checks every call itself: these rules only decide which buttons show.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from typing import Any

import pyvirt


@dataclass(frozen=True)
class SaslIdentity:
    """The identity pyvirtd gives a SASL user, for evaluating its rules file here:
    matches ``sasl:GLOB`` and ``*`` (rules for uids, DNs or addresses describe
    the manager's own connection, not the person using it)."""

    name: str

    def matches(self, pattern: str) -> bool:
        if pattern == "*":
            return True
        kind, _, value = pattern.partition(":")
        return kind == "sasl" and fnmatch.fnmatchcase(self.name, value)

    def describe(self) -> str:
        return f"sasl:{self.name}"


#: What the manager's forms need beyond lifecycle buttons (libvirt's ACL words).
CHANGING_PERMISSIONS = (
    "domain:write", "domain:start", "domain:stop", "domain:delete", "domain:snapshot",
    "domain:init_control", "domain:suspend", "domain:hibernate", "network:write",
    "network:start", "network:stop", "network:delete", "storage_pool:write",
    "storage_pool:start", "storage_pool:stop", "storage_pool:delete",
    "storage_pool:refresh", "storage_vol:create", "storage_vol:delete",
    "storage_vol:resize", "storage_vol:data_write")


def _permission_matches(pattern: str, permission: str) -> bool:
    """A rule's ``object:permission`` pattern (either half a glob) against one."""
    if pattern == "*":
        return True
    kind, _, perm = permission.partition(":")
    want_kind, _, want_perm = pattern.partition(":")
    return fnmatch.fnmatchcase(kind, want_kind) and fnmatch.fnmatchcase(perm, want_perm or "*")


@dataclass(frozen=True)
class DaemonUser:
    """A user the daemon authenticated; ``rules`` (the daemon's) decide what to offer."""

    name: str
    rules: Any = None                  # AccessRules, a RulesFile, or None

    @property
    def role(self) -> str:
        return "daemon"

    @property
    def current_rules(self) -> Any:
        source = self.rules
        return source.current() if isinstance(source, RulesFile) else source

    @property
    def identity(self) -> SaslIdentity:
        return SaslIdentity(self.name)

    def may(self, permission: str, obj: str | None = None) -> bool:
        """What the rules allow (every object's name known to the page); no rules: yes."""
        rules = self.current_rules
        if rules is None:
            return True
        return bool(rules.allowed(self.identity, permission, obj))

    @property
    def can_write(self) -> bool:
        """Whether any rule may let this user change something (shows the forms
        that are not tied to one object; each button is checked with :meth:`may`)."""
        rules = self.current_rules
        if rules is None:
            return True
        return any(rule.allow and self.identity.matches(rule.identity)
                   and any(_permission_matches(rule.permission, wanted)
                           for wanted in CHANGING_PERMISSIONS)
                   for rule in rules.rules)

    @property
    def enforced_here(self) -> bool:
        return False                   # the daemon refuses, with its own message


class RulesFile:
    """The daemon's access rules file, re-read when it changes (as the daemon's
    own edits take effect); a file that turns malformed keeps the last good rules."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp = self._file_stamp()
        self._rules = self._load()            # a malformed file at start is an error

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _load(self) -> Any:
        from pyvirt.remote.access import parse_rules
        with open(self.path, encoding="utf-8") as handle:
            return parse_rules(handle.read(), self.path)

    def current(self) -> Any:
        stamp = self._file_stamp()
        if stamp is not None and stamp != self._stamp:
            self._stamp = stamp
            try:
                self._rules = self._load()
            except (OSError, pyvirt.libvirtError):
                pass
        return self._rules
