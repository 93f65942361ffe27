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
    """Snapshots by name, their parent/child links and the current one.

    Children keep libvirt's order (virDomainMomentObj's sibling list): the newest
    child first. Roots are the children of an implicit top node, so they follow
    the same rule.
    """

    def __init__(self) -> None:
        self._snaps: dict[str, SnapshotObj] = {}
        self._roots: list[str] = []
        self.current: str | None = None

    def __len__(self) -> int:
        return len(self._snaps)

    def __contains__(self, name: object) -> bool:
        return name in self._snaps

    def __iter__(self) -> Iterator[SnapshotObj]:
        return iter(list(self._snaps.values()))

    def get(self, name: str) -> SnapshotObj | None:
        return self._snaps.get(name)

    def _siblings(self, parent: str | None) -> list[str]:
        """The child list ``parent`` (None: the top) keeps."""
        if parent is not None and parent in self._snaps:
            return self._snaps[parent].children
        return self._roots

    def add(self, snap: SnapshotObj) -> SnapshotObj:
        """Insert ``snap`` as the newest child of its parent (or as the newest root);
        a snapshot of the same name is replaced in place (a redefinition)."""
        old = self._snaps.get(snap.name)
        if old is not None and old.parent == snap.parent:
            snap.children = old.children
            self._snaps[snap.name] = snap
            return snap
        if old is not None:
            self._siblings(old.parent).remove(snap.name)
            snap.children = old.children
        self._snaps[snap.name] = snap
        self._siblings(snap.parent).insert(0, snap.name)
        return snap

    def roots(self) -> list[SnapshotObj]:
        return [self._snaps[r] for r in self._roots]

    def children(self, name: str) -> list[SnapshotObj]:
        return [self._snaps[c] for c in self._snaps[name].children]

    def descendants(self, name: str) -> list[SnapshotObj]:
        """All snapshots below ``name``, depth first (libvirt's ForEachDescendant)."""
        found: list[SnapshotObj] = []
        for child in self.children(name):
            found.append(child)
            found.extend(self.descendants(child.name))
        return found

    def topological(self) -> list[SnapshotObj]:
        """Every snapshot, each parent before its children (roots newest first)."""
        found: list[SnapshotObj] = []
        for root in self.roots():
            found.append(root)
            found.extend(self.descendants(root.name))
        return found

    def is_leaf(self, name: str) -> bool:
        return not self._snaps[name].children

    def remove(self, name: str) -> None:
        """Remove one snapshot; its children move up to its parent, ahead of the
        parent's other children (libvirt's virDomainMomentMoveChildren)."""
        snap = self._snaps.pop(name)
        siblings = self._siblings(snap.parent)
        siblings.remove(name)
        siblings[:0] = snap.children
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
        self._roots.clear()
        self.current = None
