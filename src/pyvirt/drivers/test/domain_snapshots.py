"""Snapshots: create (and redefine), the tree, current, revert and delete."""

from __future__ import annotations


from pyvirt.drivers.base import DomainRef, SnapshotRef
from pyvirt.drivers.common.facts import SnapshotCountEntries
from pyvirt.drivers.test import domxml, snapxml
from pyvirt.drivers.test.checks import bare_error, check_flags, delivers_events as _events
from pyvirt.drivers.test.domain_base import DomainTableBase
from pyvirt.errors import (
    VIR_ERR_INVALID_ARG, VIR_ERR_NO_DOMAIN_SNAPSHOT, VIR_ERR_OPERATION_FAILED,
    VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_DOMAIN, VIR_FROM_DOMAIN_SNAPSHOT, VIR_FROM_TEST,
    error,
)
from pyvirt.objects import numbers as n
from pyvirt.objects.domain_obj import DomainObj
from pyvirt.objects.numbers import DomainEvent, DomainState
from pyvirt.objects.snapshot_tree import SnapshotObj


class DomainSnapshotMixin(SnapshotCountEntries, DomainTableBase):
    """The snapshot entry points, over each DomainObj's SnapshotTree."""

    def _snap(self, dom: DomainObj, name: str) -> SnapshotObj:
        snap = dom.snapshots.get(name)
        if snap is None:
            raise error(VIR_ERR_NO_DOMAIN_SNAPSHOT,
                        f"no domain snapshot with matching name '{name}'", domain=VIR_FROM_TEST)
        return snap

    @staticmethod
    def _snap_ref(dom_ref: DomainRef, snap: SnapshotObj) -> SnapshotRef:
        return SnapshotRef(dom_ref, snap.name)

    #: what libvirt 9.0's testDomainSnapshotCreateXML accepts (no NO_METADATA,
    #: DISK_ONLY or REUSE_EXT)
    _SNAPSHOT_CREATE_FLAGS = (n.SNAPSHOT_CREATE_REDEFINE | n.SNAPSHOT_CREATE_CURRENT
                              | n.SNAPSHOT_CREATE_HALT | n.SNAPSHOT_CREATE_QUIESCE
                              | n.SNAPSHOT_CREATE_ATOMIC | n.SNAPSHOT_CREATE_LIVE
                              | n.SNAPSHOT_CREATE_VALIDATE)

    @_events
    def domain_snapshot_create_xml(self, ref: DomainRef, xml: str, flags: int = 0) -> SnapshotRef:
        check_flags(flags, self._SNAPSHOT_CREATE_FLAGS, "testDomainSnapshotCreateXML")
        redefine = bool(flags & n.SNAPSHOT_CREATE_REDEFINE)
        if flags & n.SNAPSHOT_CREATE_CURRENT and not redefine:
            raise bare_error(VIR_ERR_INVALID_ARG, "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' "
                             "is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT'",
                             VIR_FROM_DOMAIN_SNAPSHOT)
        sdef = snapxml.parse_snapshot(xml, redefine=redefine)
        name = snapxml.name_of(sdef)
        with self._domains.lock:
            dom = self._dom(ref)
            if name in dom.snapshots and not redefine:
                raise error(VIR_ERR_OPERATION_FAILED, f"domain moment {name} already exists",
                            domain=VIR_FROM_DOMAIN)
            if redefine:
                parent = (sdef.node.findtext("parent/name") or "").strip() or None
                state = snapxml.state_of(sdef)
            else:
                parent = dom.snapshots.current
                state = {DomainState.RUNNING: "running", DomainState.PAUSED: "paused"}.get(
                    dom.state, "shutoff")
                snapxml.complete(sdef, state, parent, dom.current_def,
                                 domxml.disk_targets(dom.current_def))
            snap = SnapshotObj(name=name, definition=sdef, parent=parent,
                               creation_time=snapxml.creation_time(sdef), state=state,
                               domain_xml=snapxml.domain_xml(sdef) or "",
                               disk_only=state == "disk-snapshot")
            dom.snapshots.add(snap)
            if not redefine or flags & n.SNAPSHOT_CREATE_CURRENT:
                dom.snapshots.current = name
            if flags & n.SNAPSHOT_CREATE_HALT and dom.active:
                self._halt_for_snapshot(dom)
            return self._snap_ref(self._ref(dom), snap)

    def _halt_for_snapshot(self, dom: DomainObj) -> None:
        dom.set_state(DomainState.SHUTOFF, n.ShutoffReason.FROM_SNAPSHOT)
        self._lifecycle(dom, DomainEvent.STOPPED, n.STOPPED_FROM_SNAPSHOT)
        dom.mark_stopped()
        if not dom.persistent:
            self._domains.remove(dom)

    def _snapshot_matches(self, dom: DomainObj, snap: SnapshotObj, flags: int) -> bool:
        if flags & n.SNAPSHOT_LIST_LEAVES and not flags & n.SNAPSHOT_LIST_NO_LEAVES:
            if not dom.snapshots.is_leaf(snap.name):
                return False
        if flags & n.SNAPSHOT_LIST_NO_LEAVES and not flags & n.SNAPSHOT_LIST_LEAVES:
            if dom.snapshots.is_leaf(snap.name):
                return False
        if flags & n.SNAPSHOT_LIST_NO_METADATA and not flags & n.SNAPSHOT_LIST_METADATA:
            return False
        kinds = flags & (n.SNAPSHOT_LIST_INACTIVE | n.SNAPSHOT_LIST_ACTIVE
                         | n.SNAPSHOT_LIST_DISK_ONLY)
        if kinds:
            kind = (n.SNAPSHOT_LIST_DISK_ONLY if snap.disk_only else
                    n.SNAPSHOT_LIST_INACTIVE if snap.state == "shutoff" else
                    n.SNAPSHOT_LIST_ACTIVE)
            if not kinds & kind:
                return False
        locations = flags & (n.SNAPSHOT_LIST_INTERNAL | n.SNAPSHOT_LIST_EXTERNAL)
        if locations and not locations & n.SNAPSHOT_LIST_INTERNAL:
            return False
        return True

    _SNAPSHOT_LIST_FLAGS = 0x7FF

    def domain_list_all_snapshots(self, ref: DomainRef, flags: int = 0) -> list[SnapshotRef]:
        check_flags(flags, self._SNAPSHOT_LIST_FLAGS, "testDomainListAllSnapshots")
        with self._domains.lock:
            dom = self._dom(ref)
            pool = dom.snapshots.roots() if flags & n.SNAPSHOT_LIST_ROOTS else list(dom.snapshots)
            if flags & n.SNAPSHOT_LIST_TOPOLOGICAL and not flags & n.SNAPSHOT_LIST_ROOTS:
                pool = dom.snapshots.topological()
            dref = self._ref(dom)
            return [self._snap_ref(dref, s) for s in pool
                    if self._snapshot_matches(dom, s, flags & ~n.SNAPSHOT_LIST_ROOTS)]

    def domain_snapshot_lookup_by_name(self, ref: DomainRef, name: str,
                                       flags: int = 0) -> SnapshotRef:
        check_flags(flags, 0, "testDomainSnapshotLookupByName")
        with self._domains.lock:
            dom = self._dom(ref)
            return self._snap_ref(self._ref(dom), self._snap(dom, name))

    def domain_has_current_snapshot(self, ref: DomainRef, flags: int = 0) -> bool:
        check_flags(flags, 0, "testDomainHasCurrentSnapshot")
        return self._dom(ref).snapshots.current is not None

    def domain_snapshot_current(self, ref: DomainRef, flags: int = 0) -> SnapshotRef:
        check_flags(flags, 0, "testDomainSnapshotCurrent")
        with self._domains.lock:
            dom = self._dom(ref)
            if dom.snapshots.current is None:
                raise error(VIR_ERR_NO_DOMAIN_SNAPSHOT,
                            "the domain does not have a current snapshot", domain=VIR_FROM_TEST)
            return self._snap_ref(self._ref(dom), self._snap(dom, dom.snapshots.current))

    def domain_snapshot_get_xml_desc(self, snap_ref: SnapshotRef, flags: int = 0) -> str:
        check_flags(flags, 1, "testDomainSnapshotGetXMLDesc")  # SNAPSHOT_XML_SECURE
        with self._domains.lock:
            dom = self._dom(snap_ref.domain)
            return snapxml.format_snapshot(self._snap(dom, snap_ref.name).definition,
                                           secure=bool(flags & 1))

    def domain_snapshot_get_parent(self, snap_ref: SnapshotRef, flags: int = 0) -> SnapshotRef:
        check_flags(flags, 0, "testDomainSnapshotGetParent")
        with self._domains.lock:
            dom = self._dom(snap_ref.domain)
            snap = self._snap(dom, snap_ref.name)
            if snap.parent is None:
                raise error(VIR_ERR_NO_DOMAIN_SNAPSHOT,
                            f"snapshot '{snap.name}' does not have a parent",
                            domain=VIR_FROM_TEST)
            return self._snap_ref(self._ref(dom), self._snap(dom, snap.parent))

    def domain_snapshot_list_all_children(self, snap_ref: SnapshotRef,
                                          flags: int = 0) -> list[SnapshotRef]:
        check_flags(flags, self._SNAPSHOT_LIST_FLAGS, "testDomainSnapshotListAllChildren")
        with self._domains.lock:
            dom = self._dom(snap_ref.domain)
            self._snap(dom, snap_ref.name)
            if flags & n.SNAPSHOT_LIST_DESCENDANTS:
                pool = dom.snapshots.descendants(snap_ref.name)
            else:
                pool = dom.snapshots.children(snap_ref.name)
            dref = self._ref(dom)
            return [self._snap_ref(dref, s) for s in pool
                    if self._snapshot_matches(dom, s, flags & ~n.SNAPSHOT_LIST_DESCENDANTS)]

    def domain_snapshot_is_current(self, snap_ref: SnapshotRef, flags: int = 0) -> bool:
        check_flags(flags, 0, "testDomainSnapshotIsCurrent")
        dom = self._dom(snap_ref.domain)
        self._snap(dom, snap_ref.name)
        return dom.snapshots.current == snap_ref.name

    def domain_snapshot_has_metadata(self, snap_ref: SnapshotRef, flags: int = 0) -> bool:
        check_flags(flags, 0, "testDomainSnapshotHasMetadata")
        self._snap(self._dom(snap_ref.domain), snap_ref.name)
        return True

    @_events
    def domain_revert_to_snapshot(self, snap_ref: SnapshotRef, flags: int = 0) -> None:
        check_flags(flags, n.SNAPSHOT_REVERT_RUNNING | n.SNAPSHOT_REVERT_PAUSED
                    | n.SNAPSHOT_REVERT_FORCE, "testDomainRevertToSnapshot")
        with self._domains.lock:
            dom = self._dom(snap_ref.domain)
            snap = self._snap(dom, snap_ref.name)
            if snap.disk_only:
                raise error(VIR_ERR_OPERATION_UNSUPPORTED,
                            "revert to external snapshot not supported yet",
                            domain=VIR_FROM_TEST)
            run = (snap.state in ("running", "paused") or flags & n.SNAPSHOT_REVERT_RUNNING
                   or flags & n.SNAPSHOT_REVERT_PAUSED)
            pause = ((snap.state == "paused" or flags & n.SNAPSHOT_REVERT_PAUSED)
                     and not flags & n.SNAPSHOT_REVERT_RUNNING)
            saved = domxml.parse_domain(snap.domain_xml) if snap.domain_xml else None
            if dom.active:
                dom.set_state(DomainState.SHUTOFF, n.ShutoffReason.FROM_SNAPSHOT)
                self._lifecycle(dom, DomainEvent.STOPPED, n.STOPPED_FROM_SNAPSHOT)
                dom.mark_stopped()
            if saved is not None and dom.persistent:
                dom.persistent_def = saved
            if run:
                live = domxml.copy_def(saved if saved is not None else dom.current_def)
                dom.mark_started(self._domains.next_id(), live)
                dom.set_state(DomainState.RUNNING, n.RunningReason.FROM_SNAPSHOT)
                self._lifecycle(dom, DomainEvent.STARTED, n.STARTED_FROM_SNAPSHOT)
                if pause:
                    dom.set_state(DomainState.PAUSED, n.PausedReason.FROM_SNAPSHOT)
                    self._lifecycle(dom, DomainEvent.SUSPENDED, n.SUSPENDED_FROM_SNAPSHOT)
            else:
                dom.set_state(DomainState.SHUTOFF, n.ShutoffReason.FROM_SNAPSHOT)
                if not dom.persistent:
                    self._domains.remove(dom)
            dom.snapshots.current = snap.name

    def domain_snapshot_delete(self, snap_ref: SnapshotRef, flags: int = 0) -> None:
        check_flags(flags, n.SNAPSHOT_DELETE_CHILDREN | n.SNAPSHOT_DELETE_CHILDREN_ONLY,
                    "testDomainSnapshotDelete")     # libvirt's has no METADATA_ONLY
        with self._domains.lock:
            dom = self._dom(snap_ref.domain)
            snap = self._snap(dom, snap_ref.name)
            if flags & (n.SNAPSHOT_DELETE_CHILDREN | n.SNAPSHOT_DELETE_CHILDREN_ONLY):
                dom.snapshots.remove_children(snap.name)
            if not flags & n.SNAPSHOT_DELETE_CHILDREN_ONLY:
                for child in dom.snapshots.children(snap.name):
                    snapxml.set_parent(child.definition, snap.parent)
                dom.snapshots.remove(snap.name)

