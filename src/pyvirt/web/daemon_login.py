"""Daemon mode: the daemon's identities and access rules decide.

The login form's name and password are checked by opening the configured URIs
with ``pyvirt.openAuth`` as that user (SASL on pyvirtd: identity ``sasl:NAME``).
Each login then works through ITS OWN connections, kept in its :class:`Workspace`
and closed at logout or expiry, so the daemon checks every call against its
access rules and its audit log names the user. The password stays in this
process's memory only (to reopen a dropped connection), never in the cookie.

Given the daemon's rules file (``--access-rules``, :mod:`.daemon_rules`), pages
hide what the rules would deny; without it they show every button and the
daemon's refusal is shown.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pyvirt
from pyvirt.errors import (VIR_ERR_AUTH_CANCELLED, VIR_ERR_AUTH_FAILED,
                           VIR_ERR_AUTH_UNAVAILABLE)

from .daemon_rules import DaemonUser, RulesFile
from .hosts import HostList
from .workspace import Workspace

AUTH_CODES = {VIR_ERR_AUTH_FAILED, VIR_ERR_AUTH_CANCELLED, VIR_ERR_AUTH_UNAVAILABLE}
Opener = Callable[[str, str, str], Any]          # (uri, name, password) -> virConnect


class LoginFailed(Exception):
    """No configured host accepted the name and password (the message says why)."""


def credential_callback(name: str, password: str) -> Callable[[list, Any], int]:
    """An openAuth callback answering AUTHNAME with ``name``, PASSPHRASE with ``password``."""
    def answer(credentials: list, _cbdata: Any) -> int:
        for cred in credentials:
            if cred[0] == pyvirt.VIR_CRED_AUTHNAME:
                cred[4] = name
            elif cred[0] == pyvirt.VIR_CRED_PASSPHRASE:
                cred[4] = password
            else:
                return -1
        return 0
    return answer


def open_as(uri: str, name: str, password: str) -> Any:
    """``uri`` opened with ``name``'s credentials (libvirt's standard openAuth)."""
    auth = [[pyvirt.VIR_CRED_AUTHNAME, pyvirt.VIR_CRED_PASSPHRASE],
            credential_callback(name, password), None]
    return pyvirt.openAuth(uri, auth, 0)


@dataclass(eq=False)
class Login:
    user: DaemonUser
    workspace: Workspace
    expires: float                     # the session's end, whatever happens
    last_used: float                   # idle logins (a lost cookie) close sooner


@dataclass(eq=False)
class DaemonLogins:
    """Logins verified by the daemon, each with its own connections."""

    uris: list[str]
    rules: Any = None
    max_age: float = 12 * 3600
    idle_timeout: float = 3600
    opener: Opener = open_as
    clock: Callable[[], float] = time.monotonic
    _logins: dict[str, Login] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def login(self, name: str, password: str) -> tuple[str, DaemonUser]:
        """Open every host as ``name``: a new session id and its user, or LoginFailed."""
        if not name or not password:
            raise LoginFailed("Login failed: give a user name and a password")
        opened: dict[int, Any] = {}
        errors: list[pyvirt.libvirtError] = []
        for index, uri in enumerate(self.uris):
            try:
                opened[index] = self.opener(uri, name, password)
            except pyvirt.libvirtError as err:
                errors.append(err)
        if not opened:
            auth = [e for e in errors if e.get_error_code() in AUTH_CODES]
            raise LoginFailed(f"Login failed: {(auth or errors)[0]}" if errors
                              else "Login failed: no host is configured")
        hosts = HostList(self.uris, opener=lambda uri: self.opener(uri, name, password))
        for index, conn in opened.items():
            hosts.get(index).adopt(conn)
        sid = secrets.token_urlsafe(24)
        user = DaemonUser(name, self.rules)
        now = self.clock()
        with self._lock:
            self._logins[sid] = Login(user, Workspace(hosts), now + self.max_age, now)
        self.expire()
        return sid, user

    def _current(self, session: Any) -> Login | None:
        sid = session.get("sid")
        if not isinstance(sid, str):
            return None
        with self._lock:
            login = self._logins.get(sid)
        if login is None:
            return None
        now = self.clock()
        if self._stale(login, now) or login.user.name != session.get("user"):
            self.logout(session)
            return None
        login.last_used = now
        return login

    def _stale(self, login: Login, now: float) -> bool:
        return login.expires <= now or login.last_used + self.idle_timeout <= now

    def user_of(self, session: Any) -> DaemonUser | None:
        login = self._current(session)
        return login.user if login else None

    def workspace_of(self, session: Any) -> Workspace | None:
        login = self._current(session)
        return login.workspace if login else None

    def logout(self, session: Any) -> None:
        """Forget the session's login and close its connections."""
        sid = session.get("sid")
        with self._lock:
            login = self._logins.pop(sid, None) if isinstance(sid, str) else None
        if login is not None:
            login.workspace.close()

    def expire(self) -> int:
        """Close the logins past their age or idle too long; how many."""
        now = self.clock()
        with self._lock:
            old = [sid for sid, login in self._logins.items() if self._stale(login, now)]
            gone = [self._logins.pop(sid) for sid in old]
        for login in gone:
            login.workspace.close()
        return len(gone)

    def close_all(self) -> None:
        with self._lock:
            gone, self._logins = list(self._logins.values()), {}
        for login in gone:
            login.workspace.close()

    def __len__(self) -> int:
        return len(self._logins)


def daemon_logins(uris: list[str], rules_path: str | None = None,
                  max_age: float = 12 * 3600) -> DaemonLogins:
    """:class:`DaemonLogins` for ``uris``, with the rules file at ``rules_path`` if given."""
    return DaemonLogins(list(uris), RulesFile(rules_path) if rules_path else None, max_age)


__all__ = ["DaemonLogins", "LoginFailed", "credential_callback", "daemon_logins", "open_as"]
