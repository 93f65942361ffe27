"""What every part of the test driver's hypervisor table shares: the state,
ref resolution, and moving a domain through the lifecycle with its events."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any, Callable

from pyvirt.drivers.base import DomainRef, HypervisorConnection, domain_ref
from pyvirt.drivers.test import domxml
from pyvirt.drivers.test.state import TestState
from pyvirt.errors import (
    VIR_ERR_NO_DOMAIN, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, VIR_FROM_TEST, error,
)
from pyvirt.objects import lifecycle, numbers as n
from pyvirt.objects.domain_obj import DomainObj
from pyvirt.objects.lifecycle import Action


class DomainTableBase(HypervisorConnection):
    """Domains of one TestState, seen through one connection."""

    def __init__(self, state: TestState, uri: str,
                 on_close: Callable[[], None] | None = None) -> None:
        self.state = state
        self.uri = uri
        self._on_close = on_close
        self._closed = False

    # --- helpers --------------------------------------------------------------------
    @property
    def _domains(self):  # noqa: ANN202 - the state's DomainObjList
        return self.state.domains

    _ref = staticmethod(domain_ref)

    def _dom(self, ref: DomainRef) -> DomainObj:
        dom = self._domains.find_by_uuid(ref.uuid)
        if dom is None:
            raise error(VIR_ERR_NO_DOMAIN,
                        f"no domain with matching uuid '{uuidlib.UUID(bytes=ref.uuid)}' "
                        f"({ref.name})", domain=VIR_FROM_TEST)
        return dom

    def _lifecycle(self, dom: DomainObj, event: int, detail: int) -> None:
        self.state.domain_events.queue(n.EVENT_ID_LIFECYCLE, self._ref(dom), int(event),
                                       int(detail))

    def _step(self, dom: DomainObj, action: Action) -> lifecycle.Transition:
        step = lifecycle.apply(dom, action)
        if step.event is not None:
            self._lifecycle(dom, step.event, step.detail)
        return step

    def _start(self, dom: DomainObj, action: Action = Action.START,
               live_def: Any = None) -> None:
        lifecycle.check(dom, action)
        dom.mark_started(self._domains.next_id(),
                         live_def if live_def is not None else domxml.copy_def(dom.persistent_def))
        self._step(dom, action)

    def _stop(self, dom: DomainObj, action: Action) -> None:
        """Stop through ``action``; a transient domain then disappears."""
        self._step(dom, action)
        dom.mark_stopped()
        if not dom.persistent:
            self._domains.remove(dom)

    @staticmethod
    def _require_active(dom: DomainObj) -> None:
        if not dom.active:
            raise error(VIR_ERR_OPERATION_INVALID, "domain is not running",
                        domain=VIR_FROM_DOMAIN)

    def _defs_for(self, dom: DomainObj, flags: int) -> tuple[Any, Any]:
        """(live def, config def) that ``flags`` (AFFECT_LIVE/CONFIG/CURRENT) selects."""
        live = bool(flags & n.AFFECT_LIVE)
        config = bool(flags & n.AFFECT_CONFIG)
        if not live and not config:
            live, config = dom.active, not dom.active
        if live:
            self._require_active(dom)
        if config and not dom.persistent:
            raise error(VIR_ERR_OPERATION_INVALID,
                        "cannot change persistent config of a transient domain",
                        domain=VIR_FROM_DOMAIN)
        return (dom.live_def if live else None,
                dom.persistent_def if config else None)
