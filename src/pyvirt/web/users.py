"""The users file: one user a line, ``name:role:pbkdf2_sha256$iterations$salt$hash``.

Roles are ``admin`` (may change things) and ``readonly`` (may only look).
Blank lines and lines starting with ``#`` are ignored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = ("admin", "readonly")
ITERATIONS = 200_000
_NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


#: Permissions that only look (libvirt's ACL words): a read-only user may use these.
READ_PERMISSIONS = ("read", "getattr", "search_domains", "search_networks",
                    "search_storage_pools", "detect_storage_pools")


def is_read_permission(permission: str) -> bool:
    """``domain:read`` yes, ``domain:start`` no."""
    return permission.partition(":")[2] in READ_PERMISSIONS


@dataclass(frozen=True)
class User:
    """A users-file user: ``admin`` may change things, ``readonly`` may look."""

    name: str
    role: str

    @property
    def can_write(self) -> bool:
        return self.role == "admin"

    def may(self, permission: str, obj: str | None = None) -> bool:
        """Whether to offer an action needing libvirt's ``permission`` on ``obj``."""
        return self.can_write or is_read_permission(permission)

    @property
    def enforced_here(self) -> bool:
        """True: this manager refuses what the role forbids (the daemon does not know
        these users). Daemon users answer False: the daemon decides."""
        return True


def hash_password(password: str, salt: bytes | None = None,
                  iterations: int = ITERATIONS) -> str:
    """A salted PBKDF2-SHA256 hash in the users file's format."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    b64 = base64.b64encode
    return f"pbkdf2_sha256${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, iterations, salt, digest = stored.split("$")
        if algo != "pbkdf2_sha256":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt),
                                  int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


class UsersFileError(ValueError):
    """A malformed users file (the message names the line)."""


class UserStore:
    """Users read from a users file; :meth:`authenticate` checks a password."""

    def __init__(self, entries: dict[str, tuple[str, str]] | None = None) -> None:
        self._entries = dict(entries or {})      # name -> (role, hash)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "UserStore":
        entries: dict[str, tuple[str, str]] = {}
        for lineno, line in enumerate(Path(path).read_text().splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(":", 2)
            if len(parts) != 3 or parts[1] not in ROLES or not _NAME_RE.match(parts[0]):
                raise UsersFileError(f"{path}:{lineno}: expected name:role:hash "
                                     f"with role one of {', '.join(ROLES)}")
            entries[parts[0]] = (parts[1], parts[2])
        return cls(entries)

    def add(self, name: str, role: str, password: str,
            iterations: int = ITERATIONS) -> None:
        if role not in ROLES:
            raise UsersFileError(f"unknown role '{role}' (expected {', '.join(ROLES)})")
        if not _NAME_RE.match(name):
            raise UsersFileError(f"invalid user name '{name}'")
        self._entries[name] = (role, hash_password(password, iterations=iterations))

    def save(self, path: str | os.PathLike[str]) -> None:
        lines = [f"{name}:{role}:{hashed}" for name, (role, hashed) in self._entries.items()]
        Path(path).write_text("".join(line + "\n" for line in lines))
        os.chmod(path, 0o600)

    def get(self, name: str) -> User | None:
        entry = self._entries.get(name)
        return User(name, entry[0]) if entry else None

    def user_of(self, session: Any) -> User | None:
        """The session's user, re-read from the entries (removed = logged out)."""
        name = session.get("user")
        return self.get(name) if isinstance(name, str) else None

    def authenticate(self, name: str, password: str) -> User | None:
        entry = self._entries.get(name)
        if entry is None:
            verify_password(password, hash_password("", b"0" * 16))   # same cost either way
            return None
        return User(name, entry[0]) if verify_password(password, entry[1]) else None


class UsersFile(UserStore):
    """A :class:`UserStore` that re-reads its file when it changes (checked on each
    lookup): adding, removing or demoting a user takes effect without a restart.
    A file that turns malformed keeps the last good entries."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        super().__init__(UserStore.load(self.path)._entries)
        self._stamp = self._file_stamp()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _refresh(self) -> None:
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._entries = UserStore.load(self.path)._entries if stamp else {}
        except (OSError, UsersFileError):
            pass

    def get(self, name: str) -> User | None:
        self._refresh()
        return super().get(name)

    def authenticate(self, name: str, password: str) -> User | None:
        self._refresh()
        return super().authenticate(name, password)
