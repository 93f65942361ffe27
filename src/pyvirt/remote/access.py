"""Access rules: which identity may use which of libvirt's ACL permissions
(``domain:start``, ``network:read``...) on which object. Pure: text in, rules
out, and a check. The daemon loads the file (``access_rules_file``) and
:mod:`pyvirt.remote.dispatch` checks every call against it, and every event
before relaying it (:func:`may_see_event`).

The rules file, one rule a line, first match wins, nothing matched = denied::

    # verdict  identity          permission        object (glob on the name)
    allow      uid:0             *
    allow      user:alice        domain:read       web-*
    allow      group:virt        domain:*          *
    allow      dn:*CN=ops*       connect:*
    deny       addr:10.0.0.*     *
    allow      *                 connect:getattr

Identities: ``uid:N``, ``gid:N``, ``user:NAME``, ``group:NAME`` (unix socket peers,
SO_PEERCRED), ``dn:GLOB`` (TLS client certificate, libvirt's DN format
``C=GB,O=Example,CN=client``), ``addr:GLOB`` (TCP/TLS peer address),
``sasl:GLOB`` (the user name a client authenticated with over SASL, libvirt's
``sasl-user-name``), ``*``.
Permissions are ``object:permission`` as in remote_protocol.x's ``@acl``
annotations; either half may be ``*``. The object is omitted or ``*`` for
every object; a named object (a glob) only matches calls whose object is known,
so connection-level calls (``connect:*``) only match rules without one.

A denied call fails as libvirt's access manager does (it never says why; the
daemon log does): ``VIR_ERR_ACCESS_DENIED`` ``access denied: 'Test' denied access``.
"""

from __future__ import annotations

import fnmatch
import grp
import pwd
from dataclasses import dataclass, field
from typing import Any

from pyvirt.errors import (VIR_ERR_ACCESS_DENIED, VIR_ERR_CONF_SYNTAX, VIR_FROM_ACCESS,
                           VIR_FROM_CONF, error)

_VERDICTS = {"allow": True, "deny": False}


@dataclass
class Identity:
    """Who is calling: what the daemon learnt about the client's connection."""

    uid: int | None = None
    gid: int | None = None
    pid: int | None = None
    dn: str | None = None
    addr: str | None = None
    groups: set[int] = field(default_factory=set)
    sasl_user: str | None = None        # set once a SASL exchange succeeded

    def matches(self, pattern: str) -> bool:
        if pattern == "*":
            return True
        kind, _, value = pattern.partition(":")
        if kind == "uid":
            return self.uid is not None and str(self.uid) == value
        if kind == "gid":
            return self.gid is not None and (str(self.gid) == value or
                                             value in {str(g) for g in self.groups})
        if kind == "user":
            return self.uid is not None and _user_name(self.uid) == value
        if kind == "group":
            gid = _group_id(value)
            return gid is not None and (gid == self.gid or gid in self.groups)
        if kind == "dn":
            return self.dn is not None and fnmatch.fnmatchcase(self.dn, value)
        if kind == "addr":
            return self.addr is not None and fnmatch.fnmatchcase(self.addr, value)
        if kind == "sasl":
            return self.sasl_user is not None and fnmatch.fnmatchcase(self.sasl_user, value)
        return False

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in (("uid", self.uid), ("gid", self.gid),
                                          ("pid", self.pid), ("dn", self.dn),
                                          ("addr", self.addr),
                                          ("sasl", self.sasl_user)) if v is not None]
        return ",".join(parts) or "anonymous"


def _user_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _group_id(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


@dataclass(frozen=True)
class Rule:
    """One line of the rules file: verdict, identity, permission, object glob."""

    allow: bool
    identity: str
    permission: str
    obj: str = "*"

    def matches(self, who: Identity, permission: str, obj: str | None) -> bool:
        if not who.matches(self.identity):
            return False
        kind, _, perm = permission.partition(":")
        want_kind, _, want_perm = self.permission.partition(":")
        if self.permission != "*" and not (fnmatch.fnmatchcase(kind, want_kind)
                                           and fnmatch.fnmatchcase(perm, want_perm or "*")):
            return False
        if self.obj == "*":
            return True
        return obj is not None and fnmatch.fnmatchcase(obj, self.obj)


@dataclass
class AccessRules:
    """An ordered rule list; :meth:`allowed` answers one check."""

    rules: list[Rule] = field(default_factory=list)
    source: str = "rules"

    def allowed(self, who: Identity, permission: str, obj: str | None) -> bool:
        for rule in self.rules:
            if rule.matches(who, permission, obj):
                return rule.allow
        return False

    def check(self, who: Identity, permissions: tuple[str, ...], obj: str | None,
              driver_name: str) -> None:
        """Raise libvirt's access error unless every permission is allowed."""
        for permission in permissions:
            if permission == "none":
                continue
            if not self.allowed(who, permission, obj):
                raise denied(driver_name, f"{who.describe()} lacks {permission} on "
                             f"{obj or '(connection)'}")


#: The permission a client needs on an event's object to be sent the event
#: (libvirt's ``remoteRelay*EventCheckACL``: the ``@aclfilter`` of the
#: ``*_EVENT_REGISTER_ANY`` procedures).
EVENT_FILTER = {"domain": "domain:getattr", "network": "network:getattr",
                "storage_pool": "storage_pool:getattr"}


def may_see_event(rules: AccessRules | None, who: Identity, family: str,
                  obj: str | None) -> bool:
    """Whether an event of ``family`` (domain, network, storage_pool) about the
    object named ``obj`` may be relayed to ``who``. No rules: every event."""
    if rules is None:
        return True
    return rules.allowed(who, EVENT_FILTER[family], obj)


def denied(driver_name: str, why: str = "") -> Exception:
    """libvirt's sanitized access error (the reason only goes to the daemon's log)."""
    err = error(VIR_ERR_ACCESS_DENIED, f"'{driver_name}' denied access",
                domain=VIR_FROM_ACCESS)
    err.why = why                                          # type: ignore[attr-defined]
    return err


def parse_rules(text: str, source: str = "rules") -> AccessRules:
    """The rules in ``text`` (see the module docstring); a bad line is an error."""
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) not in (3, 4) or words[0] not in _VERDICTS:
            raise error(VIR_ERR_CONF_SYNTAX, f"{source}:{number}: expected "
                        "'allow|deny IDENTITY PERMISSION [OBJECT]'", domain=VIR_FROM_CONF)
        identity = words[1]
        if identity != "*" and identity.split(":", 1)[0] not in (
                "uid", "gid", "user", "group", "dn", "addr", "sasl"):
            raise error(VIR_ERR_CONF_SYNTAX, f"{source}:{number}: unknown identity "
                        f"'{identity}'", domain=VIR_FROM_CONF)
        rules.append(Rule(_VERDICTS[words[0]], identity, words[2],
                          words[3] if len(words) == 4 else "*"))
    return AccessRules(rules, source)


def object_name(args: dict[str, Any], result: Any = None) -> str | None:
    """The name of the object a call acts on: a ref in its args (dom, net, pool,
    vol, snap), a name argument, the ``<name>`` of an XML definition, or the
    ref it returned (lookups by UUID or id)."""
    for key in ("dom", "net", "pool", "vol", "snap", "snapshot"):
        ref = args.get(key)
        if ref is not None:
            return getattr(ref, "name", None) if key not in ("snap", "snapshot") \
                else ref.domain.name
    if isinstance(args.get("name"), str):
        return args["name"]
    for key in ("xml", "xml_desc"):
        text = args.get(key)
        if isinstance(text, str):
            start = text.find("<name>")
            end = text.find("</name>", start)
            if start >= 0 and end > start:
                return text[start + 6:end].strip()
    if result is not None and hasattr(result, "name"):
        return result.name
    return None
