"""Entry points the test driver shares with QEMU and LXC: the facts read straight off
a :class:`~pyvirt.objects.domain_obj.DomainObj`, and (test, QEMU) the snapshot counts.
Kept apart from ``entries`` so that the test driver loads no more modules (see
tests/drivers/test/test_testdriver_imports.py)."""

from __future__ import annotations

from pyvirt.drivers.base import DomainRef, SnapshotRef


class DomainFactEntries:
    """The yes/no and list facts read straight off a domain; needs ``self._dom(ref)``."""

    def domain_is_active(self, ref: DomainRef) -> bool:
        return self._dom(ref).active

    def domain_is_persistent(self, ref: DomainRef) -> bool:
        return self._dom(ref).persistent

    def domain_is_updated(self, ref: DomainRef) -> bool:
        return self._dom(ref).updated

    def domain_get_autostart(self, ref: DomainRef) -> bool:
        return self._dom(ref).autostart

    def domain_get_messages(self, ref: DomainRef, flags: int = 0) -> list[str]:
        return list(self._dom(ref).messages)


class SnapshotCountEntries:
    """The snapshot counts and name lists, derived from the driver's
    ``domain_list_all_snapshots`` and ``domain_snapshot_list_all_children``."""

    def domain_snapshot_num(self, ref: DomainRef, flags: int = 0) -> int:
        return len(self.domain_list_all_snapshots(ref, flags))

    def domain_snapshot_list_names(self, ref: DomainRef, maxnames: int = -1,
                                   flags: int = 0) -> list[str]:
        names = [s.name for s in self.domain_list_all_snapshots(ref, flags)]
        return names if maxnames < 0 else names[:maxnames]

    def domain_snapshot_num_children(self, snap_ref: SnapshotRef, flags: int = 0) -> int:
        return len(self.domain_snapshot_list_all_children(snap_ref, flags))
