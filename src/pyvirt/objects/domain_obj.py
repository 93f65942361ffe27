"""A domain at runtime: its definitions, state, reason, id and what hangs off it."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

from pyvirt.objects.numbers import DomainState
from pyvirt.objects.snapshot_tree import SnapshotTree


#: states in which a domain is not running (libvirt's virDomainObjIsActive is false)
_INACTIVE_STATES = frozenset({DomainState.SHUTOFF, DomainState.NOSTATE})


@dataclass
class DomainObj:
    """One domain.

    ``persistent_def`` is the saved configuration (None for a transient domain);
    ``live_def`` is the running definition (None while shut off). The defs are
    conf objects (``DomainDef``) the driver formats; this class never parses.
    """

    name: str
    uuid: bytes
    persistent_def: Any = None
    live_def: Any = None
    state: DomainState = DomainState.SHUTOFF
    reason: int = 0
    id: int = -1
    autostart: bool = False
    #: XML of the managed-save image, None when there is none.
    managed_save: str | None = None
    snapshots: SnapshotTree = field(default_factory=SnapshotTree)
    #: Warnings about this domain (virDomainGetMessages' tainting/deprecation list).
    messages: list[str] = field(default_factory=list)
    #: Live-only changes since start (virDomainIsUpdated).
    updated: bool = False
    #: Driver-specific tunables (the test driver's scheduler weight...).
    extra: dict[str, Any] = field(default_factory=dict)
    #: Driver-specific runtime facts (vCPU pinning...), dropped when the domain stops.
    live_extra: dict[str, Any] = field(default_factory=dict)
    #: The driver's last handle for this domain, kept while name and id stay the
    #: same (a listing of 1000 domains then makes no new handles).
    ref_cache: Any = field(default=None, repr=False, compare=False)

    @property
    def uuid_str(self) -> str:
        return str(uuidlib.UUID(bytes=self.uuid))

    @property
    def active(self) -> bool:
        return self.state not in _INACTIVE_STATES

    @property
    def persistent(self) -> bool:
        return self.persistent_def is not None

    @property
    def current_def(self) -> Any:
        """The definition that describes the domain now (live when running)."""
        return self.live_def if self.live_def is not None else self.persistent_def

    def set_state(self, state: DomainState, reason: int) -> None:
        self.state = DomainState(state)
        self.reason = int(reason)

    def mark_started(self, dom_id: int, live_def: Any) -> None:
        self.id = dom_id
        self.live_def = live_def
        self.updated = False

    def mark_stopped(self) -> None:
        """After the domain stops: forget the live definition and the id."""
        self.id = -1
        self.live_def = None
        self.updated = False
        self.live_extra.clear()
