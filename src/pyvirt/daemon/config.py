"""pyvirtd's settings, read from a libvirtd.conf file with libvirtd's own keys.

The file syntax is libvirt's (virConf): ``key = value`` lines, values are
integers, quoted strings or ``[ "lists", "of", "strings" ]`` (lists may span
lines), ``#`` starts a comment. Each key is read with libvirtd's type and in
libvirtd's order, so a bad file fails with libvirtd's message
(tests/daemon/test_config_parity.py). :func:`load_config` returns a
:class:`DaemonConfig` and the notes to log: keys read but ignored, unknown
keys. A key whose value pyvirtd cannot honour safely (``auth_tcp = "sasl"``)
is an error, so an admin never gets less protection than they asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from pyvirt.errors import (VIR_ERR_CONF_SYNTAX, VIR_ERR_CONFIG_UNSUPPORTED,
                           VIR_ERR_INTERNAL_ERROR, VIR_ERR_SYSTEM_ERROR, VIR_FROM_CONF,
                           VIR_FROM_NONE, error)


@dataclass
class DaemonConfig:
    """The libvirtd.conf keys pyvirtd honours, with libvirtd's defaults."""

    listen_tcp: bool = False
    listen_tls: bool = True
    listen_addr: str = ""               # "" = all addresses (libvirtd's default)
    tcp_port: int = 16509
    tls_port: int = 16514
    unix_sock_dir: str = ""             # "" = the default for the user (see socket_dir)
    unix_sock_group: str = ""
    unix_sock_ro_perms: int = 0o777
    unix_sock_rw_perms: int = 0o700
    auth_tcp: str = "sasl"
    auth_tls: str = "none"
    key_file: str = "/etc/pki/libvirt/private/serverkey.pem"
    cert_file: str = "/etc/pki/libvirt/servercert.pem"
    ca_file: str = "/etc/pki/CA/cacert.pem"
    crl_file: str = ""
    tls_no_verify_certificate: bool = False
    tls_allowed_dn_list: list[str] | None = None      # None: every verified client
    auth_unix_rw: str = "none"
    auth_unix_ro: str = "none"
    max_clients: int = 5000
    min_workers: int = 5
    max_workers: int = 20
    prio_workers: int = 5
    max_client_requests: int = 5
    keepalive_interval: int = 5
    max_stream_rate: int = 0   # pyvirtd's own key: data bytes/s per stream (0 = no limit)
    keepalive_count: int = 5
    access_rules_file: str = ""         # pyvirtd's own key: per-identity ACL rules
    sasl_allowed_username_list: list[str] | None = None   # None: every SASL user
    sasl_passwd_file: str = "/etc/pyvirt/sasl-passwd"     # pyvirtd's own key: SCRAM verifiers
    audit_logging: bool = True          # record mutating calls in the audit log
    audit_log: str = ""                 # "" = audit.log in the state dir (see audit_path)
    log_level: int = 3
    log_outputs: str = ""
    notes: list[str] = field(default_factory=list)

    def socket_dir(self) -> str:
        """libvirtd's choice: /run/libvirt for root, $XDG_RUNTIME_DIR/libvirt otherwise."""
        if self.unix_sock_dir:
            return self.unix_sock_dir
        if os.geteuid() == 0:
            return "/run/libvirt"
        runtime = os.environ.get("XDG_RUNTIME_DIR") or os.path.expanduser("~/.cache")
        return os.path.join(runtime, "libvirt")

    def state_dir(self) -> str:
        """Where the daemon keeps its runtime state: its socket directory."""
        return self.socket_dir()

    def audit_path(self) -> str | None:
        """The audit log's path; None when ``audit_logging = 0``."""
        if not self.audit_logging:
            return None
        return self.audit_log or os.path.join(self.state_dir(), "audit.log")

    def socket_paths(self) -> tuple[str, str]:
        """(read-write, read-only) socket paths."""
        base = self.socket_dir()
        return os.path.join(base, "libvirt-sock"), os.path.join(base, "libvirt-sock-ro")


#: The keys as libvirtd reads them (daemonConfigLoadOptions), in its order and with
#: its types: the first bad key in this order is the one reported, in libvirtd's
#: words. Then pyvirtd's own keys. ``perms``/``port`` are strings turned into numbers.
_KEY_TYPES: tuple[tuple[str, str], ...] = (
    ("listen_tcp", "bool"), ("listen_tls", "bool"), ("tls_port", "port"),
    ("tcp_port", "port"), ("listen_addr", "string"), ("auth_unix_rw", "auth"),
    ("auth_unix_ro", "auth"), ("auth_tcp", "auth"), ("auth_tls", "auth"),
    ("access_drivers", "list"), ("unix_sock_group", "string"),
    ("unix_sock_admin_perms", "string"), ("unix_sock_ro_perms", "perms"),
    ("unix_sock_rw_perms", "perms"), ("unix_sock_dir", "string"),
    ("tls_no_sanity_certificate", "bool"), ("tls_no_verify_certificate", "bool"),
    ("key_file", "string"), ("cert_file", "string"), ("ca_file", "string"),
    ("crl_file", "string"), ("tls_allowed_dn_list", "list"), ("tls_priority", "string"),
    ("sasl_allowed_username_list", "list"), ("min_workers", "uint"),
    ("max_workers", "uint"), ("max_clients", "uint"), ("max_queued_clients", "uint"),
    ("max_anonymous_clients", "uint"), ("prio_workers", "uint"),
    ("max_client_requests", "uint"), ("admin_min_workers", "uint"),
    ("admin_max_workers", "uint"), ("admin_max_clients", "uint"),
    ("admin_max_queued_clients", "uint"), ("admin_max_client_requests", "uint"),
    ("audit_level", "uint"), ("audit_logging", "bool"), ("host_uuid", "string"),
    ("host_uuid_source", "string"), ("log_level", "uint"), ("log_filters", "string"),
    ("log_outputs", "string"), ("keepalive_interval", "int"), ("keepalive_count", "uint"),
    ("admin_keepalive_interval", "int"), ("admin_keepalive_count", "uint"),
    ("ovs_timeout", "uint"),
    # pyvirtd's own
    ("max_stream_rate", "uint"), ("access_rules_file", "string"), ("audit_log", "string"),
    ("sasl_passwd_file", "string"),
)
_AUTH_SCHEMES = ("none", "sasl", "polkit")

#: libvirtd keys pyvirtd reads and does not act on (yet), with why.
IGNORED_KEYS: dict[str, str] = {
    "tls_no_sanity_certificate": "certificates are checked by the TLS library only",
    "tls_priority": "Python's ssl defaults choose the ciphers",
    "access_drivers": "pyvirtd's access control is access_rules_file (no polkit)",
    "unix_sock_admin_perms": "there is no admin socket",
    "admin_min_workers": "there is no admin socket",
    "admin_max_workers": "there is no admin socket",
    "admin_max_clients": "there is no admin socket",
    "admin_max_queued_clients": "there is no admin socket",
    "admin_max_client_requests": "there is no admin socket",
    "admin_keepalive_interval": "there is no admin socket",
    "admin_keepalive_count": "there is no admin socket",
    "max_queued_clients": "the kernel's listen backlog is used",
    "max_anonymous_clients": "not limited; a SASL client is dropped after 3 failed "
                             "logins and a user name locked after 10",
    "max_requests": "obsolete in libvirtd too",
    "log_filters": "log filters are not supported",
    "host_uuid": "not used", "host_uuid_source": "not used",
    "audit_level": "the kernel audit subsystem is not used (see audit_log)",
    "ovs_timeout": "not used", "mdns_adv": "not used", "mdns_name": "not used",
    "unix_sock_rw_group": "not used",
}

def parse_conf(text: str, source: str = "config") -> dict[str, Any]:
    """libvirt's conf syntax (virConf) -> {key: int | str | list}; a key given twice
    keeps its first value, as libvirt reads it. Errors are libvirt's
    ``VIR_ERR_CONF_SYNTAX`` "SOURCE:LINE: what was expected"."""
    return _ConfParser(text, source).entries()


class _ConfParser:
    """virConf's grammar: statements ``name = value`` separated by a newline or
    ``;``; a value is a number (``-`` makes it signed), a '...' or "..." string on
    one line, a \"\"\"...\"\"\" string, or a ``[ value, ... ]`` list; ``#`` comments
    a line, or the rest of one after a value."""

    def __init__(self, text: str, source: str):
        self.text, self.source = text, source
        self.pos, self.line = 0, 1

    def entries(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        while self.pos < len(self.text):
            self._skip(eol=True)
            if self._cur() == "#":
                self._to_eol()
            elif self.pos < len(self.text):
                name, value = self._statement()
                values.setdefault(name, value)
            self._separator()
        return values

    def _cur(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _fail(self, what: str) -> Exception:
        return error(VIR_ERR_CONF_SYNTAX, f"{self.source}:{self.line}: {what}",
                     domain=VIR_FROM_CONF)

    def _skip(self, eol: bool = False) -> None:
        blanks = " \t\n\r" if eol else " \t"
        while self.pos < len(self.text) and self.text[self.pos] in blanks:
            self.line += self.text[self.pos] == "\n"
            self.pos += 1

    def _to_eol(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] not in "\n\r":
            self.pos += 1

    def _statement(self) -> tuple[str, Any]:
        start = self.pos
        if not (self._cur().isascii() and self._cur().isalpha()):
            raise self._fail("expecting a name")
        while self._cur() and (self._cur().isascii() and self._cur().isalnum()
                               or self._cur() == "_"):
            self.pos += 1
        name = self.text[start:self.pos]
        self._skip()
        if self._cur() != "=":
            raise self._fail("expecting an assignment")
        self.pos += 1
        value = self._value()
        self._skip()
        if self._cur() == "#":
            self._to_eol()
        return name, value

    def _separator(self) -> None:
        self._skip()
        if self.pos >= len(self.text):
            return
        if self._cur() == ";":
            self.pos += 1
        elif self._cur() not in "\n\r":
            raise self._fail("expecting a separator")
        self._skip(eol=True)

    def _value(self) -> Any:
        self._skip()
        cur = self._cur()
        if not cur:
            raise self._fail("expecting a value")
        if cur in "'\"":
            return self._string()
        if cur == "[":
            return self._list()
        if cur.isdigit() or cur in "+-":
            return self._number()
        raise self._fail("expecting a value")

    def _string(self) -> str:
        quote = self.text[self.pos]
        if self.text.startswith('\"\"\"', self.pos) and self.pos + 6 < len(self.text):
            end = self.text.find('\"\"\"', self.pos + 3)
            if end < 0:             # libvirt's scan stops two characters short of the end
                self.line += self.text.count("\n", self.pos + 3, len(self.text) - 2)
                self.pos = len(self.text)
                raise self._fail("unterminated string")
            value = self.text[self.pos + 3:end]
            self.line += value.count("\n")
            self.pos = end + 3
            return value
        end = self.pos + 1
        while end < len(self.text) and self.text[end] not in (quote, "\n", "\r"):
            end += 1
        if end >= len(self.text) or self.text[end] != quote:
            self.pos = end
            raise self._fail("unterminated string")
        value = self.text[self.pos + 1:end]
        self.pos = end + 1
        return value

    def _number(self) -> int:
        start = self.pos
        if self._cur() in "+-":
            self.pos += 1
        digits = self.pos
        while self._cur().isascii() and self._cur().isdigit():
            self.pos += 1
        if self.pos == digits:
            raise self._fail("unterminated number")
        return int(self.text[start:self.pos])

    def _list(self) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        self._skip(eol=True)
        if self._cur() and self._cur() != "]":
            items.append(self._value())
            self._skip(eol=True)
        while self._cur() and self._cur() != "]":
            if self._cur() != ",":
                raise self._fail("expecting a separator in list")
            self.pos += 1
            self._skip(eol=True)
            if self._cur() == "]":
                break
            items.append(self._value())
            self._skip(eol=True)
        if self._cur() != "]":
            raise self._fail("list is not closed with ]")
        self.pos += 1
        return items


def config_from_values(values: dict[str, Any], source: str = "config") -> DaemonConfig:
    """The settings in ``values`` (from :func:`parse_conf` of the file ``source``),
    each checked as libvirtd checks it; notes for keys read but not acted on."""
    config = DaemonConfig()
    for key, kind in _KEY_TYPES:
        if key in values:
            value = _typed(values[key], kind, key, source)
            if hasattr(config, key) and key != "notes":
                setattr(config, key, value)
        if key == "max_workers" and config.max_workers < 1:
            raise error(VIR_ERR_INTERNAL_ERROR, "'max_workers' must be greater than 0",
                        domain=VIR_FROM_CONF)
    for key in values:
        if key in IGNORED_KEYS:
            config.notes.append(f"ignoring {key}: {IGNORED_KEYS[key]}")
        elif not hasattr(config, key) or key == "notes":
            config.notes.append(f"ignoring unknown key {key}")
    _check_auth_schemes(config)
    for key in ("auth_unix_rw", "auth_unix_ro"):
        if getattr(config, key) == "polkit":
            config.notes.append(f"{key} = polkit: not supported, the socket permissions "
                                "decide access")
    if config.max_client_requests < 1:
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, "max_client_requests must be at least 1",
                    domain=VIR_FROM_CONF)
    return config


def _typed(value: Any, kind: str, key: str, source: str) -> Any:
    """``value`` read as libvirt's virConfGetValue<kind> reads it (a negative
    number is libvirt's signed kind, any other its unsigned one)."""
    def bad(what: str, code: int = VIR_ERR_INTERNAL_ERROR) -> Exception:
        return error(code, f"{source}: {what}", domain=VIR_FROM_CONF)

    number = isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        if not number or value < 0:
            raise bad(f"expected a bool for '{key}' parameter")
        if value > 1:
            raise bad(f"value for '{key}' parameter must be 0 or 1")
        return value == 1
    if kind == "uint":
        if not number or value < 0:
            raise bad(f"expected an unsigned integer for '{key}' parameter")
        if value > 2**32 - 1:
            raise bad(f"value for '{key}' parameter must be in range 0:{2**32 - 1}")
        return value
    if kind == "int":
        if not number:
            raise bad(f"expected a signed integer for '{key}' parameter")
        if not -2**31 <= value <= 2**31 - 1:
            raise bad(f"value for '{key}' parameter must be in range {-2**31}:{2**31 - 1}")
        return value
    if kind == "list":
        if not isinstance(value, list):
            raise bad(f"expected a string list for '{key}' parameter")
        if not all(isinstance(item, str) for item in value):
            raise bad(f"expected a string list for '{key}' parameter", VIR_ERR_CONF_SYNTAX)
        return value
    if not isinstance(value, str):
        raise bad(f"expected a string for '{key}' parameter")
    if kind == "auth" and value not in _AUTH_SCHEMES:
        raise bad(f"{key}: unsupported auth {value}", VIR_ERR_CONFIG_UNSUPPORTED)
    if kind == "perms":
        try:
            return int(value, 8)
        except ValueError:
            raise error(VIR_ERR_INTERNAL_ERROR, f"Failed to parse mode '{value}'",
                        domain=VIR_FROM_CONF) from None
    if kind == "port":
        if not value.isdigit():
            raise bad(f"{key}: port '{value}' is not a number (service names are not "
                      "supported)", VIR_ERR_CONFIG_UNSUPPORTED)
        return int(value)
    return value


def _check_auth_schemes(config: DaemonConfig) -> None:
    """auth_tls may be "none" or "sasl" (certificate, then SCRAM). auth_tcp may
    only be "none": libvirt's clients insist on a SASL security layer (SSF >= 56,
    GSSAPI/Kerberos in libvirtd) on plain TCP, and SCRAM, the only mechanism
    pyvirtd has, gives none, so every real client would fail to authenticate."""
    if config.listen_tcp and config.auth_tcp == "sasl":
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    'auth_tcp = "sasl" is not supported by pyvirtd: libvirt clients require a '
                    'SASL security layer on plain TCP (GSSAPI/Kerberos) and pyvirtd only offers '
                    'SCRAM, which has none; use listen_tls with auth_tls = "sasl", or set '
                    'auth_tcp = "none" (TCP is then unauthenticated and unencrypted)',
                    domain=VIR_FROM_CONF)
    if config.listen_tcp and config.auth_tcp != "none":
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    f'auth_tcp = "{config.auth_tcp}" is not supported by pyvirtd; '
                    'set auth_tcp = "none" (TCP is then unauthenticated and unencrypted)',
                    domain=VIR_FROM_CONF)
    if config.auth_tls not in ("none", "sasl"):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    f'auth_tls = "{config.auth_tls}" is not supported by pyvirtd; set '
                    'auth_tls = "none" (clients are authenticated by their certificate) or '
                    '"sasl" (certificate, then a SCRAM password)',
                    domain=VIR_FROM_CONF)


def load_config(path: str | None) -> DaemonConfig:
    """Read ``path`` (None: defaults only)."""
    if path is None:
        return DaemonConfig()
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as err:
        raise error(VIR_ERR_SYSTEM_ERROR, f"Failed to open file '{path}': {err.strerror}",
                    domain=VIR_FROM_NONE) from err
    return config_from_values(parse_conf(text, path), path)
