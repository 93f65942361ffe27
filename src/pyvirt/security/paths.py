"""The one check every object name passes before it becomes part of a path (pure).

Domain names become QEMU/LXC config, status, log, save and managed-save file
names, run and snapshot directories, monitor and console sockets; network
names become dnsmasq files; pool, volume and snapshot names become files and
directories. :func:`check_name` refuses what could leave the driver's
directory or hide in it: the empty name, ``/``, a NUL, ``.``/``..`` and any
leading ``.``, control characters, and names too long for a file name with
its suffix. A name with ``/`` gets libvirt's own message and code for its kind
(``XML error: name a/b cannot contain '/'`` …); the rest, which libvirt lets
through, is ``VIR_ERR_INVALID_ARG`` naming the problem.
"""

from __future__ import annotations

from pyvirt.errors import (
    VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_INVALID, VIR_ERR_XML_DETAIL, VIR_ERR_XML_ERROR,
    VIR_FROM_DOMAIN, VIR_FROM_DOMAIN_SNAPSHOT, VIR_FROM_NETWORK, VIR_FROM_SECURITY,
    VIR_FROM_STORAGE, VIR_FROM_XML, error, libvirtError,
)

#: bytes a name may take: a file name (255) less the longest suffix we add
MAX_NAME_BYTES = 200

#: kind -> (error domain of the kind, libvirt's code/domain/message for a '/')
KINDS = {
    "domain": (VIR_FROM_DOMAIN, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN,
               "name {name} cannot contain '/'"),
    "network": (VIR_FROM_NETWORK, VIR_ERR_XML_DETAIL, VIR_FROM_XML, "invalid char in name: /"),
    "pool": (VIR_FROM_STORAGE, VIR_ERR_XML_ERROR, VIR_FROM_STORAGE,
             "name {name} cannot contain '/'"),
    "volume": (VIR_FROM_STORAGE, VIR_ERR_OPERATION_INVALID, VIR_FROM_STORAGE,
               "volume name '{name}' cannot contain '/'"),
    "snapshot": (VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN_SNAPSHOT,
                 "snapshot name '{name}' cannot contain '/'"),
    "secret": (VIR_FROM_SECURITY, VIR_ERR_INVALID_ARG, VIR_FROM_SECURITY,
               "secret name '{name}' cannot contain '/'"),
}
_WORDS = {"domain": "domain", "network": "network", "pool": "storage pool",
          "volume": "volume", "snapshot": "snapshot", "secret": "secret"}


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be used as a path component, None when it can
    (``/`` is reported as ``'/'``, checked by :func:`check_name` first)."""
    if not isinstance(name, str) or name == "":
        return "cannot be empty"
    if "/" in name:
        return "'/'"
    if "\0" in name:
        return "cannot contain a NUL character"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in name):
        return "cannot contain control characters"
    if name in (".", ".."):
        return "is not allowed"
    if name.startswith("."):
        return "cannot start with '.'"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"is too long (more than {MAX_NAME_BYTES} bytes)"
    return None


def check_name(kind: str, name: str, *, target_dir: str | None = None) -> str:
    """Refuse a ``kind`` (``domain``, ``network``, ``pool``, ``volume``,
    ``snapshot``, ``secret``) name that cannot safely be a path component;
    returns the name. ``target_dir``: a volume's pool directory, for libvirt's
    own answer to ``.``/``..`` there (the path "already exists")."""
    own_domain, slash_code, slash_domain, slash_text = KINDS[kind]
    problem = name_problem(name)
    if problem is None:
        return name
    if problem == "'/'":
        raise error(slash_code, slash_text.format(name=name), domain=slash_domain)
    if kind == "volume" and target_dir and name in (".", ".."):
        raise error(VIR_ERR_OPERATION_INVALID, f"volume target path '{target_dir}/{name}' "
                    "already exists", domain=VIR_FROM_STORAGE)
    shown = repr(name)[1:-1] if isinstance(name, str) else repr(name)
    raise error(VIR_ERR_INVALID_ARG, f"{_WORDS[kind]} name '{shown[:64]}' {problem}",
                domain=own_domain)


def is_safe_name(name: str) -> bool:
    """Whether :func:`check_name` would accept ``name``."""
    try:
        check_name("domain", name)
    except libvirtError:
        return False
    return True


#: the kernel's limit on an interface name, its NUL included
IFNAMSIZ = 16


def check_ifname(name: str, what: str = "bridge") -> str:
    """Refuse what the kernel would not take as an interface name (bridges, taps:
    they also name files such as dnsmasq's): empty, 16 bytes or more, ``.``/``..``,
    ``/``, ``:`` or white space."""
    bad = (not name or len(name.encode()) >= IFNAMSIZ or name in (".", "..")
           or any(ch in name for ch in "/:\0") or any(ch.isspace() for ch in name))
    if bad:
        raise error(VIR_ERR_INVALID_ARG, f"{what} name '{name}' is not a valid network "
                    f"interface name", domain=VIR_FROM_NETWORK)
    return name
