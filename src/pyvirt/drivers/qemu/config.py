"""The QEMU driver's own settings: a ``qemu.conf``-like file (no I/O beyond reading it).

Where it lives: ``/etc/pyvirt/qemu.conf`` for ``qemu:///system``,
``ROOT/etc/qemu.conf`` for ``qemu:///embed?root=ROOT``; ``qemu:///session``
(and any driver not run as root) has no identity to drop to. Keys read, with
libvirt's syntax (``key = "text"`` or ``key = 0|1``, ``#`` comments)::

    user = "pyvirt-qemu"        # who QEMU runs as: a name, or "+UID"
    group = "pyvirt-qemu"
    dynamic_ownership = 1       # 0: never relabel the guest's files
    namespaces = ["mount"]      # QEMU in its own mount namespace, private /dev;
                                # [] runs it in ours

``user = "root"`` is refused for a confined guest unless said so (libvirt lets
root run QEMU when qemu.conf asks for it; so do we, then ``allow_root``).
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import re
from dataclasses import dataclass
from pathlib import Path

from pyvirt.errors import VIR_ERR_CONF_SYNTAX, VIR_FROM_CONF, error

log = logging.getLogger(__name__)

#: the dedicated system user scripts/setup.sh creates
DEFAULT_USER = DEFAULT_GROUP = "pyvirt-qemu"
#: used (with a warning) while that user does not exist yet
FALLBACK_USER, FALLBACK_GROUP = "nobody", "nogroup"
_LINE = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:"([^"]*)"|(-?\d+)|\[([^\]]*)\])'
                   r'\s*(?:#.*)?$')
_LIST_ITEM = re.compile(r'^\s*"([^"]*)"\s*$')
#: the namespaces qemu.conf may name (libvirt knows only "mount")
KNOWN_NAMESPACES = ("mount",)


@dataclass(frozen=True)
class QemuConfig:
    """What the driver runs QEMU as. ``user``/``group`` None: no identity change
    (an unprivileged driver)."""

    user: str | None = DEFAULT_USER
    group: str | None = DEFAULT_GROUP
    dynamic_ownership: bool = True
    #: ``namespaces``: "mount" gives QEMU its own mount namespace and /dev
    namespaces: tuple[str, ...] = ("mount",)

    @property
    def mount_namespace(self) -> bool:
        return "mount" in self.namespaces

    @property
    def owner_text(self) -> str | None:
        """``user:group`` for :func:`pyvirt.security.seclabel.parse_owner`."""
        if self.user is None or self.group is None:
            return None
        return f"{self.user}:{self.group}"

    @property
    def allow_root(self) -> bool:
        return self.user in ("root", "+0", "0")


def _list_of(text: str, origin: str, number: int) -> list[str]:
    items = [part for part in text.split(",")] if text.strip() else []
    out = []
    for item in items:
        match = _LIST_ITEM.match(item)
        if match is None:
            raise error(VIR_ERR_CONF_SYNTAX, f"{origin}:{number}: expecting a string",
                        domain=VIR_FROM_CONF)
        out.append(match.group(1))
    return out


def parse(text: str, origin: str = "qemu.conf") -> dict[str, str | int | list[str]]:
    """``key = value`` lines (a string, a number or a ``["list", "of strings"]``)
    into a dict; a malformed line is libvirt's CONF_SYNTAX."""
    values: dict[str, str | int | list[str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise error(VIR_ERR_CONF_SYNTAX, f"{origin}:{number}: expecting a value",
                        domain=VIR_FROM_CONF)
        key, text_value, number_value, list_value = match.groups()
        if list_value is not None:
            values[key] = _list_of(list_value, origin, number)
        else:
            values[key] = text_value if text_value is not None else int(number_value)
    return values


def _exists(name: str, lookup) -> bool:
    if name.startswith("+") or name.isdigit():
        return True
    try:
        lookup(name)
    except KeyError:
        return False
    return True


def namespaces_of(values: dict[str, str | int | list[str]]) -> tuple[str, ...]:
    """``namespaces`` (default ``["mount"]``); an unknown name is refused as
    libvirt refuses it."""
    names = values.get("namespaces", list(KNOWN_NAMESPACES))
    if not isinstance(names, list):
        raise error(VIR_ERR_CONF_SYNTAX, "expected a string list for 'namespaces' parameter",
                    domain=VIR_FROM_CONF)
    for name in names:
        if name not in KNOWN_NAMESPACES:
            raise error(VIR_ERR_CONF_SYNTAX, f"Unknown namespace: {name}",
                        domain=VIR_FROM_CONF)
    return tuple(dict.fromkeys(names))


def from_values(values: dict[str, str | int | list[str]]) -> QemuConfig:
    """The config of parsed values; the default user falls back to nobody:nogroup
    (logged) on a host where scripts/setup.sh has not created it."""
    user = str(values.get("user", DEFAULT_USER))
    group = str(values.get("group", DEFAULT_GROUP if "user" not in values else user))
    if "user" not in values and not _exists(user, pwd.getpwnam):
        log.info("user '%s' does not exist (run scripts/setup.sh); QEMU runs as %s:%s",
                    user, FALLBACK_USER, FALLBACK_GROUP)
        user, group = FALLBACK_USER, FALLBACK_GROUP
    elif "group" not in values and not _exists(group, grp.getgrnam):
        group = FALLBACK_GROUP
    return QemuConfig(user=user, group=group,
                      dynamic_ownership=bool(int(values.get("dynamic_ownership", 1))),
                      namespaces=namespaces_of(values))


def load(path: Path, privileged: bool = True) -> QemuConfig:
    """The config of a driver whose file is ``path`` (absent: the defaults);
    no identity for an unprivileged driver or a process not running as root."""
    if not privileged or os.geteuid() != 0:
        return QemuConfig(user=None, group=None, dynamic_ownership=False, namespaces=())
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    return from_values(parse(text, str(path)))


def config_path(config_dir: Path) -> Path:
    """``qemu.conf`` beside the driver's config directory (``ROOT/etc/qemu.conf``)."""
    return config_dir.parent / "qemu.conf"
