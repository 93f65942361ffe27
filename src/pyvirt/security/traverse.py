"""Directories a guest's identity must pass through to reach its files.

libvirt leaves directories alone (a guest whose disk sits under a ``0700``
directory fails with "Permission denied"). pyvirt grants the guest's uid a
``user:UID:--x`` ACL entry on each directory on the way that it cannot
already search: it may reach its own files there, but not list the directory,
and the entry goes with the domain's other labels at stop. Only directories
that need it are listed, so an ordinary ``0755`` path is never touched.
"""

from __future__ import annotations

import os
import stat
from typing import Iterable

from pyvirt.security.dac import SEARCH, FileAction
from pyvirt.security.seclabel import Owner


def can_search(st: os.stat_result, owner: Owner) -> bool:
    """Whether ``owner`` may pass through a directory with ``st`` (mode bits only)."""
    if st.st_uid == owner.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == owner.gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def ancestors(path: str) -> list[str]:
    """``/a/b/c`` -> ``['/', '/a', '/a/b']``."""
    out: list[str] = []
    parent = os.path.dirname(os.path.abspath(path))
    while True:
        out.append(parent)
        up = os.path.dirname(parent)
        if up == parent:
            break
        parent = up
    return list(reversed(out))


def traversal_actions(paths: Iterable[str], owner: Owner) -> list[FileAction]:
    """A ``x`` action for each directory above ``paths`` that ``owner`` cannot search."""
    seen: set[str] = set()
    actions: list[FileAction] = []
    for path in paths:
        for directory in ancestors(path):
            if directory in seen:
                continue
            seen.add(directory)
            try:
                st = os.stat(directory)
            except OSError:
                continue
            if not can_search(st, owner):
                actions.append(FileAction(directory, SEARCH, "directory on the way"))
    return actions
