"""pyvirtd's settings, read from a libvirtd.conf file with libvirtd's own keys.

The file syntax is libvirt's (virConf): ``key = value`` lines, values are
integers, quoted strings or ``[ "lists", "of", "strings" ]`` (lists may span
lines), ``#`` starts a comment. :func:`load_config` returns a
:class:`DaemonConfig` and the notes to log: keys read but ignored, unknown
keys. A key whose value pyvirtd cannot honour safely (``auth_tcp = "sasl"``)
is an error, so an admin never gets less protection than they asked for.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from pyvirt.errors import VIR_ERR_CONF_SYNTAX, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_CONF, error


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


_BOOL_KEYS = {"listen_tcp", "listen_tls", "tls_no_verify_certificate", "audit_logging"}
_INT_KEYS = {"max_clients", "min_workers", "max_workers", "prio_workers",
             "max_client_requests", "keepalive_interval", "keepalive_count", "log_level",
             "max_stream_rate"}
_PORT_KEYS = {"tcp_port", "tls_port"}
_PERM_KEYS = {"unix_sock_ro_perms", "unix_sock_rw_perms"}
_STR_KEYS = {"listen_addr", "unix_sock_dir", "unix_sock_group", "auth_tcp", "auth_unix_rw",
             "auth_unix_ro", "log_outputs", "auth_tls", "key_file", "cert_file", "ca_file",
             "crl_file", "access_rules_file", "audit_log", "sasl_passwd_file"}
_LIST_KEYS = {"tls_allowed_dn_list", "sasl_allowed_username_list"}

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

_TOKEN = re.compile(r'\s*(?:(?P<num>-?\d+)|"(?P<dq>[^"]*)"|\'(?P<sq>[^\']*)\'|(?P<open>\[)|'
                    r'(?P<close>\])|(?P<comma>,))')


def parse_conf(text: str, source: str = "config") -> dict[str, Any]:
    """libvirt's conf syntax -> {key: int | str | list[str]}."""
    values: dict[str, Any] = {}
    # strip comments outside strings
    lines = []
    for line in text.splitlines():
        out, quote = [], None
        for ch in line:
            if quote:
                quote = None if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            out.append(ch)
        lines.append("".join(out))
    body = "\n".join(lines)
    pos = 0
    assign = re.compile(r"\s*(?P<key>[A-Za-z_][A-Za-z0-9_.]*)\s*=\s*")
    while True:
        while pos < len(body) and body[pos] in " \t\r\n;":
            pos += 1
        if pos >= len(body):
            return values
        match = assign.match(body, pos)
        if match is None:
            line_no = body.count("\n", 0, pos) + 1
            raise error(VIR_ERR_CONF_SYNTAX, f"{source}:{line_no}: expecting a name",
                        domain=VIR_FROM_CONF)
        key = match["key"]
        value, pos = _value(body, match.end(), source)
        values[key] = value


def _value(body: str, pos: int, source: str) -> tuple[Any, int]:
    match = _TOKEN.match(body, pos)
    if match is None or match["close"] or match["comma"]:
        line_no = body.count("\n", 0, pos) + 1
        raise error(VIR_ERR_CONF_SYNTAX, f"{source}:{line_no}: expecting a value",
                    domain=VIR_FROM_CONF)
    if match["num"] is not None:
        return int(match["num"]), match.end()
    if match["open"] is None:
        return (match["dq"] if match["dq"] is not None else match["sq"]), match.end()
    items: list[Any] = []
    pos = match.end()
    while True:
        ws = re.compile(r"\s*").match(body, pos)
        pos = ws.end() if ws else pos
        close = _TOKEN.match(body, pos)
        if close is not None and close["close"]:
            return items, close.end()
        item, pos = _value(body, pos, source)
        items.append(item)
        sep = _TOKEN.match(body, pos)
        if sep is not None and sep["comma"]:
            pos = sep.end()


def config_from_values(values: dict[str, Any]) -> DaemonConfig:
    config = DaemonConfig()
    for key, value in values.items():
        if key in _BOOL_KEYS:
            setattr(config, key, bool(_int(key, value)))
        elif key in _INT_KEYS:
            setattr(config, key, _int(key, value))
        elif key in _PORT_KEYS:
            setattr(config, key, int(str(value)))
        elif key in _PERM_KEYS:
            setattr(config, key, int(str(value), 8))
        elif key in _LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise error(VIR_ERR_CONF_SYNTAX, f"{key}: expected a list of strings",
                            domain=VIR_FROM_CONF)
            setattr(config, key, value)
        elif key in _STR_KEYS:
            if not isinstance(value, str):
                raise error(VIR_ERR_CONF_SYNTAX, f"{key}: expected a string",
                            domain=VIR_FROM_CONF)
            setattr(config, key, value)
        if key in IGNORED_KEYS:
            config.notes.append(f"ignoring {key}: {IGNORED_KEYS[key]}")
        elif not hasattr(config, key) or key == "notes":
            config.notes.append(f"ignoring unknown key {key}")
    _check_auth_schemes(config)
    for key in ("auth_unix_rw", "auth_unix_ro"):
        if getattr(config, key) not in ("none", "polkit", "sasl"):
            raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                        f'{key} = "{getattr(config, key)}" is not supported by pyvirtd',
                        domain=VIR_FROM_CONF)
        if getattr(config, key) == "polkit":
            config.notes.append(f"{key} = polkit: not supported, the socket permissions "
                                "decide access")
    if config.max_client_requests < 1 or config.max_workers < 1:
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    "max_workers and max_client_requests must be at least 1",
                    domain=VIR_FROM_CONF)
    return config


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


def _int(key: str, value: Any) -> int:
    if isinstance(value, int):
        return value
    raise error(VIR_ERR_CONF_SYNTAX, f"{key}: expected a number", domain=VIR_FROM_CONF)


def load_config(path: str | None) -> DaemonConfig:
    """Read ``path`` (None: defaults only)."""
    if path is None:
        return DaemonConfig()
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as err:
        raise error(VIR_ERR_CONF_SYNTAX, f"cannot read {path}: {err.strerror}",
                    domain=VIR_FROM_CONF) from err
    return config_from_values(parse_conf(text, path))
