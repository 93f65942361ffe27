"""The client configuration libvirt reads before opening: ``libvirt.conf``.

Two keys matter for picking a URI (as in libvirt's ``virConnectOpenInternal``):

* ``uri_aliases = ["hail=qemu+ssh://root@hail.example.com/system", ...]``: a name
  given to ``open()`` that equals an alias opens the aliased URI;
* ``uri_default = "qemu:///system"``: used when no URI is given and
  ``LIBVIRT_DEFAULT_URI`` is not set.

The file is ``/etc/libvirt/libvirt.conf`` for root, else
``$XDG_CONFIG_HOME/libvirt/libvirt.conf`` (``~/.config/libvirt/libvirt.conf``).
A missing or unreadable file means no aliases and no default.

Also :func:`default_auth`, the credentials callback virsh opens with (the
credentials themselves come from auth.conf first: see
:mod:`pyvirt.drivers.remote.auth`).
"""

from __future__ import annotations

import getpass
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

_ALIAS_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
_STRING = r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\''
_ENTRY = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*(.*)$", re.S)


@dataclass
class ClientConfig:
    uri_default: str | None = None
    uri_aliases: list[str] = field(default_factory=list)

    def alias(self, name: str) -> str | None:
        """The URI ``name`` is an alias for, or None."""
        if not _ALIAS_NAME.match(name):
            return None
        for entry in self.uri_aliases:
            key, sep, value = entry.partition("=")
            if sep and key == name:
                return value
        return None


def config_path() -> str:
    if os.geteuid() == 0:
        return "/etc/libvirt/libvirt.conf"
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "libvirt", "libvirt.conf")


def _strings(text: str) -> list[str]:
    return [a if a else b for a, b in re.findall(_STRING, text)]


def _strip_comment(line: str) -> str:
    """The line without a ``#`` comment (a ``#`` inside quotes is kept)."""
    quote = ""
    for pos, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:pos]
    return line


def parse_config(text: str) -> ClientConfig:
    """Read ``uri_default`` and ``uri_aliases`` from libvirt.conf text."""
    config = ClientConfig()
    # drop comments, join list values that span lines
    statements: list[str] = []
    pending = ""
    for line in text.splitlines():
        pending += _strip_comment(line).strip() + " "
        if pending.count("[") > pending.count("]"):
            continue
        if pending.strip():
            statements.append(pending.strip())
        pending = ""
    for statement in statements:
        match = _ENTRY.match(statement)
        if not match:
            continue
        key, value = match.group(1), match.group(2)
        if key == "uri_default":
            found = _strings(value)
            config.uri_default = found[0] if found else None
        elif key == "uri_aliases":
            config.uri_aliases = _strings(value)
    return config


def load_config(path: str | None = None) -> ClientConfig:
    try:
        with open(path or config_path(), encoding="utf-8") as handle:
            return parse_config(handle.read())
    except OSError:
        return ClientConfig()


# --- virsh's default credentials callback -------------------------------------------------
def default_auth(stdin: Any = None, stdout: Any = None) -> list:
    """The auth list virsh opens with (libvirt's ``virConnectAuthPtrDefault``):
    ``openAuth(uri, default_auth(), flags)`` asks on the terminal for what
    auth.conf does not give: ``Please enter your authentication name: `` (a line
    of stdin) and ``Please enter your password: `` (no echo on a tty)."""
    from pyvirt.constants import VIR_CRED_AUTHNAME, VIR_CRED_PASSPHRASE

    def ask(creds: list, _cbdata: Any) -> int:
        reader = stdin or sys.stdin
        writer = stdout or sys.stdout
        for cred in creds:
            prompt = f"{cred[1]}: "
            if cred[0] == VIR_CRED_PASSPHRASE and reader is sys.stdin and reader.isatty():
                cred[4] = getpass.getpass(prompt)
                continue
            writer.write(prompt)
            writer.flush()
            cred[4] = reader.readline().rstrip("\r\n")
        return 0

    return [[VIR_CRED_AUTHNAME, VIR_CRED_PASSPHRASE], ask, None]
