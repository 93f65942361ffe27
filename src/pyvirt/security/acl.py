"""POSIX access ACLs in their xattr form (``system.posix_acl_access``).

Used to give a guest's uid read-only access to a file it must not own (a shared
backing image) and take it back. :func:`encode`/:func:`decode` are pure; the
entries are (tag, perm, id) with the kernel's tag numbers.
"""

from __future__ import annotations

import errno
import os
import stat
import struct

XATTR = "system.posix_acl_access"
VERSION = 2
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
UNDEFINED_ID = 0xFFFFFFFF
READ = 4
SEARCH = 1
_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")

Entry = tuple[int, int, int]


def encode(entries: list[Entry]) -> bytes:
    """The xattr bytes for ``entries``, sorted as the kernel wants (tag, then id)."""
    ordered = sorted(entries, key=lambda e: (e[0], e[2] if e[0] in (USER, GROUP) else 0))
    return _HEADER.pack(VERSION) + b"".join(_ENTRY.pack(*e) for e in ordered)


def decode(data: bytes) -> list[Entry]:
    if len(data) < _HEADER.size or _HEADER.unpack_from(data)[0] != VERSION:
        return []
    body = data[_HEADER.size:]
    return [_ENTRY.unpack_from(body, off) for off in range(0, len(body) - 7, _ENTRY.size)]


def from_mode(mode: int) -> list[Entry]:
    """The minimal ACL equal to a file mode."""
    return [(USER_OBJ, (mode >> 6) & 7, UNDEFINED_ID), (GROUP_OBJ, (mode >> 3) & 7, UNDEFINED_ID),
            (OTHER, mode & 7, UNDEFINED_ID)]


def with_reader(entries: list[Entry], uid: int, perm: int | None = None) -> list[Entry]:
    """``entries`` plus ``user:UID:r--`` (or ``perm``; a mask that lets it through)."""
    out = [e for e in entries if not (e[0] == USER and e[2] == uid)]
    out.append((USER, READ if perm is None else perm, uid))
    group_perm = next((p for t, p, _ in out if t == GROUP_OBJ), 0)
    named = [p for t, p, _ in out if t in (USER, GROUP)]
    mask = group_perm
    for perm in named:
        mask |= perm
    out = [e for e in out if e[0] != MASK] + [(MASK, mask, UNDEFINED_ID)]
    return out


def without_reader(entries: list[Entry], uid: int) -> list[Entry]:
    """``entries`` less the uid's own entry (the mask dropped when nothing named is left)."""
    out = [e for e in entries if not (e[0] == USER and e[2] == uid)]
    if not any(t in (USER, GROUP) for t, _, _ in out):
        out = [e for e in out if e[0] != MASK]
    return out


def read(path: str) -> list[Entry]:
    try:
        return decode(os.getxattr(path, XATTR))
    except OSError as err:
        if err.errno in (errno.ENODATA, errno.ENOTSUP):
            return from_mode(stat.S_IMODE(os.stat(path).st_mode))
        raise


def write(path: str, entries: list[Entry]) -> None:
    if not any(t in (USER, GROUP) for t, _, _ in entries):
        try:
            os.removexattr(path, XATTR)
        except OSError as err:
            if err.errno not in (errno.ENODATA, errno.ENOTSUP):
                raise
        return
    os.setxattr(path, XATTR, encode(entries))


def grant_read(path: str, uid: int) -> None:
    write(path, with_reader(read(path), uid))


def grant_search(path: str, uid: int) -> None:
    """``user:UID:--x`` on a directory: the uid may pass through it, not list it."""
    write(path, with_reader(read(path), uid, SEARCH))


def revoke_read(path: str, uid: int) -> None:
    write(path, without_reader(read(path), uid))
