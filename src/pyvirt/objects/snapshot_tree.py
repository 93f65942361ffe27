"""A domain's snapshots: a tree of named snapshots with one current snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator


@dataclass
class SnapshotObj:
    """One snapshot: its definition (a conf object or XML text), its place in the tree,
    and the domain state and definition it captured."""

    name: str
    definition: Any
    parent: str | None = None
    creation_time: int = 0
    state: str = "shutoff"           # libvirt's <state> text: running, paused, shutoff
    domain_xml: str = ""
    disk_only: bool = False
    children: list[str] = field(default_factory=list)


class SnapshotTree:
    """Snapshots by name, their parent/child links and the current one."""

    def __init__(self) -> None:
        self._snaps: dict[str, SnapshotObj] = {}
        self.current: str | None = None

    def __len__(self) -> int:
        return len(self._snaps)

    def __contains__(self, name: object) -> bool:
        return name in self._snaps

    def __iter__(self) -> Iterator[SnapshotObj]:
        return iter(list(self._snaps.values()))

    def get(self, name: str) -> SnapshotObj | None:
        return self._snaps.get(name)

    def add(self, snap: SnapshotObj) -> SnapshotObj:
        """Insert ``snap`` under its parent (or as a root)."""
        self._snaps[snap.name] = snap
        if snap.parent is not None and snap.parent in self._snaps:
            self._snaps[snap.parent].children.append(snap.name)
        return snap

    def roots(self) -> list[SnapshotObj]:
        return [s for s in self._snaps.values() if s.parent is None]

    def children(self, name: str) -> list[SnapshotObj]:
        return [self._snaps[c] for c in self._snaps[name].children]

    def descendants(self, name: str) -> list[SnapshotObj]:
        """All snapshots below ``name``, depth first."""
        found: list[SnapshotObj] = []
        for child in self.children(name):
            found.append(child)
            found.extend(self.descendants(child.name))
        return found

    def is_leaf(self, name: str) -> bool:
        return not self._snaps[name].children

    def remove(self, name: str) -> None:
        """Remove one snapshot; its children move up to its parent."""
        snap = self._snaps.pop(name)
        parent = self._snaps.get(snap.parent) if snap.parent else None
        if parent is not None:
            parent.children.remove(name)
            parent.children.extend(snap.children)
        for child in snap.children:
            self._snaps[child].parent = snap.parent
        if self.current == name:
            self.current = snap.parent

    def remove_children(self, name: str) -> list[str]:
        """Remove every descendant of ``name``; returns their names."""
        gone = [s.name for s in self.descendants(name)]
        for child in gone:
            self._snaps.pop(child, None)
        self._snaps[name].children = []
        if self.current in gone:
            self.current = name
        return gone

    def clear(self) -> None:
        self._snaps.clear()
        self.current = None
