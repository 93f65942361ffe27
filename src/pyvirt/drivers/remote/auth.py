"""The remote driver's SASL login, as libvirt's client does it.

When a daemon's AUTH_LIST answers SASL, :func:`sasl_login` runs SCRAM-SHA-256
(or SCRAM-SHA-1) over AUTH_SASL_INIT/START/STEP. Credentials come first from
libvirt's ``auth.conf``, then from the ``openAuth`` callback, which
:func:`supplied` makes visible to the driver for the duration of one open
(``pyvirt.openAuth(uri, [[VIR_CRED_AUTHNAME, VIR_CRED_PASSPHRASE], cb, data], 0)``;
``cb(creds, data)`` fills ``cred[4]`` and returns 0).

libvirt's rules, kept here: ``open()`` without an auth callback, a callback
that cannot answer both an authentication name and a password, and plain TCP
(libvirt's client asks a SASL security layer of SSF >= 56 there, which SCRAM
has not) all fail as "no mechanism available"; a callback returning < 0 is
"Failed to collect auth credentials"; a wrong password is the daemon's
"authentication failed: authentication failed".

auth.conf (libvirt's format): ``$LIBVIRT_AUTH_FILE``, else
``$XDG_CONFIG_HOME/libvirt/auth.conf`` (``~/.config/...``), else
``/etc/libvirt/auth.conf``::

    [credentials-admin]
    authname=alice
    password=secret

    [auth-libvirt-HOST]          # HOST: the URI's host, "localhost" without one;
    credentials=admin            # [auth-libvirt-default] for any host
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import secrets
from typing import Any, Iterator

from pyvirt.errors import (VIR_ERR_AUTH_FAILED, VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE,
                           VIR_FROM_REMOTE, VIR_FROM_RPC, error, libvirtError)
from pyvirt.remote.sasl import from_wire, to_wire
from pyvirt.remote.sasl_scram import MECHANISMS, ScramClient, ScramError

VIR_CRED_USERNAME, VIR_CRED_AUTHNAME, VIR_CRED_PASSPHRASE = 1, 2, 5
#: what libvirt's client puts in a credential it asks a callback for (prompt,
#: challenge), in its order; USERNAME (the SASL authorization name) only when
#: the caller's list has it
_PROMPTS = {VIR_CRED_USERNAME: ("Please enter your authorization name", "Authorization Name"),
            VIR_CRED_AUTHNAME: ("Please enter your authentication name", "Authentication Name"),
            VIR_CRED_PASSPHRASE: ("Please enter your password", "Password")}
_CONF_KEYS = {VIR_CRED_USERNAME: "username", VIR_CRED_AUTHNAME: "authname",
              VIR_CRED_PASSPHRASE: "password"}
#: transports libvirt's client treats as secure (no SASL security layer needed)
SECURE_TRANSPORTS = frozenset({"unix", "tls", "ssh", "ext", "libssh", "libssh2"})

_REQUEST: contextvars.ContextVar[Any] = contextvars.ContextVar("pyvirt_open_auth",
                                                                default=None)


@contextlib.contextmanager
def supplied(auth: Any) -> Iterator[None]:
    """Make ``openAuth``'s ``[credtypes, callback, cbdata]`` visible to the
    remote driver while one connection opens."""
    token = _REQUEST.set(auth)
    try:
        yield
    finally:
        _REQUEST.reset(token)


def current() -> Any:
    return _REQUEST.get()


# --- auth.conf ------------------------------------------------------------------------
def auth_file_path() -> str | None:
    """libvirt's choice of auth.conf: the first that applies, or None."""
    env = os.environ.get("LIBVIRT_AUTH_FILE")
    if env:
        return env
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    for path in (os.path.join(base, "libvirt", "auth.conf"), "/etc/libvirt/auth.conf"):
        if os.path.exists(path):
            return path
    return None


def parse_auth_conf(text: str) -> dict[str, dict[str, str]]:
    """Key-file text -> {group: {key: value}} (``#``/``;`` comments)."""
    groups: dict[str, dict[str, str]] = {}
    current_group: dict[str, str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current_group = groups.setdefault(stripped[1:-1].strip(), {})
            continue
        key, sep, value = stripped.partition("=")
        if sep and current_group is not None:
            current_group[key.strip()] = value.strip()
    return groups


def lookup(groups: dict[str, dict[str, str]], hostname: str, credname: str,
           service: str = "libvirt") -> str | None:
    """``credname`` for ``hostname``: [auth-SERVICE-HOST] (or -default) names a
    [credentials-NAME] group holding it."""
    section = groups.get(f"auth-{service}-{hostname}") or groups.get(f"auth-{service}-default")
    if not section or "credentials" not in section:
        return None
    return groups.get(f"credentials-{section['credentials']}", {}).get(credname)


def load_auth_conf(path: str | None = None) -> dict[str, dict[str, str]]:
    """The groups of auth.conf; none when there is no file. A file that cannot
    be read (a ``LIBVIRT_AUTH_FILE`` naming a missing file) fails the login with
    libvirt's own unspecific error (code 1, no domain)."""
    path = path or auth_file_path()
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_auth_conf(handle.read())
    except OSError as err:
        failure = libvirtError("An error occurred, but the cause is unknown",
                               code=VIR_ERR_INTERNAL_ERROR, domain=VIR_FROM_NONE)
        failure.why = f"cannot read auth file {path}: {err.strerror}"  # type: ignore
        raise failure from err


# --- the login ------------------------------------------------------------------------
def no_mechanism() -> Exception:
    """What libvirt's client says when Cyrus SASL finds no usable mechanism."""
    return error(VIR_ERR_AUTH_FAILED, "Failed to start SASL negotiation: -4 (SASL(-4): no "
                 "mechanism available: No worthy mechs found)", domain=VIR_FROM_RPC)


def collect_failed() -> Exception:
    return error(VIR_ERR_AUTH_FAILED, "Failed to collect auth credentials",
                 domain=VIR_FROM_REMOTE)


def credentials(auth: Any, hostname: str,
                conf: dict[str, dict[str, str]] | None = None) -> tuple[str, str, str]:
    """(authname, password, authzid): auth.conf first, the callback for the rest
    (the authorization name only when the callback's list has USERNAME)."""
    if not auth or len(auth) < 2 or not callable(auth[1]):
        raise no_mechanism()
    credtypes = list(auth[0] or [])
    if VIR_CRED_AUTHNAME not in credtypes or VIR_CRED_PASSPHRASE not in credtypes:
        raise no_mechanism()
    conf = load_auth_conf() if conf is None else conf
    wanted = [cred for cred in _CONF_KEYS
              if cred != VIR_CRED_USERNAME or VIR_CRED_USERNAME in credtypes]
    found = {cred: lookup(conf, hostname, _CONF_KEYS[cred]) for cred in wanted}
    asked = [[cred, *_PROMPTS[cred], None, None] for cred in wanted if found[cred] is None]
    if asked:
        cbdata = auth[2] if len(auth) > 2 else None
        try:
            ret = auth[1](asked, cbdata)
        except Exception as err:
            raise collect_failed() from err
        if ret is not None and ret < 0:
            raise collect_failed()
        for cred in asked:
            if cred[4] is None:
                raise collect_failed()
            found[cred[0]] = str(cred[4])
    return (found[VIR_CRED_AUTHNAME] or "", found[VIR_CRED_PASSPHRASE] or "",
            found.get(VIR_CRED_USERNAME) or "")


def choose_mechanism(mechlist: str) -> str:
    offered = {m.strip() for m in mechlist.replace(" ", ",").split(",") if m.strip()}
    for mech in MECHANISMS:                       # strongest first
        if mech in offered:
            return mech
    raise no_mechanism()


REMOTE_AUTH_NONE, REMOTE_AUTH_SASL, REMOTE_AUTH_POLKIT = 0, 1, 2


def choose_auth(types: list[int], authtype: str | None) -> tuple[int, str | None]:
    """libvirt's pick from AUTH_LIST: the first type, or the URI's ``?auth=``
    (``sasl``, ``sasl.MECH``, ``polkit``) if the daemon offers it; (type, mech)."""
    if authtype:
        low = authtype.lower()
        if low == "sasl" or low.startswith("sasl."):
            want = REMOTE_AUTH_SASL
        elif low == "polkit":
            want = REMOTE_AUTH_POLKIT
        else:
            raise error(VIR_ERR_AUTH_FAILED, f"unknown authentication type {authtype}",
                        domain=VIR_FROM_REMOTE)
        if want not in types:
            raise error(VIR_ERR_AUTH_FAILED,
                        f"requested authentication type {authtype} rejected",
                        domain=VIR_FROM_REMOTE)
        chosen = want
    else:
        chosen = types[0] if types else REMOTE_AUTH_NONE
    if chosen not in (REMOTE_AUTH_NONE, REMOTE_AUTH_SASL):
        raise error(VIR_ERR_AUTH_FAILED, f"unsupported authentication type {chosen}",
                    domain=VIR_FROM_REMOTE)
    mech = authtype[5:] if chosen == REMOTE_AUTH_SASL and authtype and \
        authtype.lower().startswith("sasl.") else None
    return chosen, mech


def sasl_login(rpc: Any, uri: Any, auth: Any = None,
               conf: dict[str, dict[str, str]] | None = None,
               wanted_mech: str | None = None) -> str:
    """Authenticate ``rpc`` (a RemoteConnection) with SCRAM; the user name.
    ``wanted_mech`` (from ``?auth=sasl.MECH``) must appear in the daemon's list."""
    transport = uri.transport or ("tls" if uri.host else "unix")
    mechlist = rpc.call("AUTH_SASL_INIT")
    if wanted_mech:
        if wanted_mech not in mechlist:           # libvirt: a plain substring test
            raise error(VIR_ERR_AUTH_FAILED,
                        f"SASL mechanism {wanted_mech} not supported by server",
                        domain=VIR_FROM_REMOTE)
        mechlist = wanted_mech
    if transport not in SECURE_TRANSPORTS:
        raise no_mechanism()
    mech = choose_mechanism(mechlist)
    name, password, authzid = credentials(auth, uri.host or "localhost", conf)
    if not name.strip():
        raise error(VIR_ERR_AUTH_FAILED, "Failed to start SASL negotiation: -1 (SASL(-1): "
                    "generic failure: All-whitespace username.)", domain=VIR_FROM_RPC)
    client = ScramClient(mech, name, password, secrets.token_urlsafe(18), authzid)
    started = rpc.call("AUTH_SASL_START", mech=mech, nil=0, data=to_wire(client.first()))
    try:
        final = client.final(from_wire(started["data"]))
    except ScramError as err:
        raise error(VIR_ERR_AUTH_FAILED, f"Failed SASL step: {err}",
                    domain=VIR_FROM_RPC) from err
    stepped = rpc.call("AUTH_SASL_STEP", nil=0, data=to_wire(final))
    try:
        client.verify(from_wire(stepped["data"]))
    except ScramError as err:
        raise error(VIR_ERR_AUTH_FAILED, f"Failed SASL step: {err}",
                    domain=VIR_FROM_RPC) from err
    if not stepped["complete"]:
        raise error(VIR_ERR_AUTH_FAILED, "Failed SASL step: server did not complete",
                    domain=VIR_FROM_RPC)
    return name
