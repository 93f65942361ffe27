"""A hypervisor table whose one domain ``vm`` keeps its memory, blkio and scheduler
parameters in dicts: the fake behind the tuning tests over the wire. ``tests/``
is on ``sys.path`` (pytest puts the root conftest's folder there)."""

from __future__ import annotations

from pyvirt.drivers.base import DomainRef, HypervisorConnection
from pyvirt.errors import VIR_ERR_NO_DOMAIN, error

UNLIMITED = 9007199254740991    # VIR_DOMAIN_MEMORY_PARAM_UNLIMITED


class TuningTables(HypervisorConnection):
    """``vm`` (id ``dom_id``) with parameters in ``memory`` / ``blkio`` / ``sched``;
    the calls that carry flags are logged in ``calls``."""

    def __init__(self, blkio: dict | None = None, sched: dict | None = None,
                 dom_id: int = 1) -> None:
        self.memory = {"hard_limit": UNLIMITED, "soft_limit": UNLIMITED,
                       "swap_hard_limit": UNLIMITED, "min_guarantee": 0}
        self.blkio = blkio if blkio is not None else {"weight": 100, "device_weight": ""}
        self.sched = sched if sched is not None else {"cpu_shares": 1024, "vcpu_quota": -1}
        self.dom_id = dom_id
        self.calls: list[tuple] = []

    def domain_lookup_by_name(self, name: str) -> DomainRef:
        if name != "vm":
            raise error(VIR_ERR_NO_DOMAIN, f"no domain with matching name '{name}'")
        return DomainRef("vm", bytes(range(16)), self.dom_id)

    def domain_get_memory_parameters(self, ref, flags=0):
        self.calls.append(("get_memory", flags))
        return dict(self.memory)

    def domain_set_memory_parameters(self, ref, values, flags=0):
        self.calls.append(("set_memory", values, flags))
        self.memory.update(values)

    def domain_get_blkio_parameters(self, ref, flags=0):
        return dict(self.blkio)

    def domain_set_blkio_parameters(self, ref, values, flags=0):
        self.blkio.update(values)

    def domain_get_scheduler_type(self, ref):
        return ("posix", len(self.sched))

    def domain_get_scheduler_parameters(self, ref, nparams=0):
        return dict(self.sched)

    def domain_get_scheduler_parameters_flags(self, ref, nparams=0, flags=0):
        self.calls.append(("get_sched_flags", nparams, flags))
        return dict(self.sched)

    def domain_set_scheduler_parameters(self, ref, values):
        self.sched.update(values)

    def domain_set_scheduler_parameters_flags(self, ref, values, flags=0):
        self.sched.update(values)
