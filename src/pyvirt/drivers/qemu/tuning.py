"""The QEMU driver's security and tuning entry points (``virsh dominfo``,
``memtune``, ``schedinfo``, ``blkiotune``).

Live values come from the domain's cgroup (``pyvirt.cgroups``), config values
from its persistent XML; a change goes to the cgroup and/or the XML
(``cgroups.params.write_tuning``), as libvirt's AFFECT_LIVE/AFFECT_CONFIG say.
Mixed into :class:`pyvirt.drivers.qemu.driver.QemuHypervisor`.
"""

from __future__ import annotations

from typing import Any

from pyvirt.cgroups import DomainCgroup, params, threads, tuning_of
from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.qemu import hotplug, isolation, lifecycle
from pyvirt.errors import VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, VIR_FROM_QEMU, error
from pyvirt.objects import numbers as n
from pyvirt.security.seclabel import security_label, security_model

_STRING_OKAY = 1 << 2          # VIR_TYPED_PARAM_STRING_OKAY (libvirt-python adds it)


def live_group(dom: Any) -> DomainCgroup | None:
    """The running domain's cgroup, None when it has none (unprivileged driver)."""
    return isolation.domain_cgroup(dom)


def _check_flags(flags: int, allowed: int, function: str) -> None:
    """libvirt's virCheckFlags."""
    if flags & ~allowed:
        raise error(VIR_ERR_INVALID_ARG, f"unsupported flags (0x{flags & ~allowed:x}) in "
                    f"function {function}", domain=VIR_FROM_QEMU)


def _vcpus(ddef: Any) -> int:
    try:
        return max(1, int((ddef.node.findtext("vcpu") or "1").strip()))
    except ValueError:
        return 1


class TuningEntries:
    """Security label/model and the memory, scheduler and blkio parameters."""

    drv: Any

    def _dom(self, ref: DomainRef) -> Any:  # provided by QemuHypervisor
        raise NotImplementedError

    # --- security ----------------------------------------------------------------
    def node_get_security_model(self) -> list[str]:
        """``['dac', '0']``: the DAC model (``virsh dominfo``'s "Security model")."""
        return security_model()

    def domain_get_security_label(self, ref: DomainRef) -> list[Any]:
        """``['+UID:+GID', 1]`` for a running confined domain, ``['', 0]`` otherwise."""
        with self.drv.lock:
            dom = self._dom(ref)
            label, enforcing = security_label(dom.live_def, True) if dom.active and \
                dom.live_def is not None else ("", False)
            return [label, 1 if enforcing else 0]

    def domain_get_security_label_list(self, ref: DomainRef) -> list[list[Any]]:
        return [self.domain_get_security_label(ref)]

    # --- reading -------------------------------------------------------------------
    def _get_selection(self, ref: DomainRef, flags: int, function: str) -> tuple[Any, Any]:
        """(tuning, live group or None) of the definition ``flags`` select."""
        _check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG | _STRING_OKAY, function)
        flags &= ~_STRING_OKAY
        if flags & n.AFFECT_LIVE and flags & n.AFFECT_CONFIG:
            public = function.replace("qemu", "vir", 1)
            raise error(VIR_ERR_INVALID_ARG, f"flags 'affect live' and 'affect config' in "
                        f"{public} are mutually exclusive", domain=VIR_FROM_DOMAIN)
        dom = self._dom(ref)
        live, _config = hotplug.selected_defs(dom, flags) if flags else \
            (dom.active, not dom.active)
        if live:
            return tuning_of(dom.live_def), live_group(dom)
        return tuning_of(dom.persistent_def), None

    def domain_get_memory_parameters(self, ref: DomainRef, flags: int = 0) -> dict[str, int]:
        with self.drv.lock:
            tuning, group = self._get_selection(ref, flags, "qemuDomainGetMemoryParameters")
            return params.memory_parameters(tuning, group)

    def domain_get_blkio_parameters(self, ref: DomainRef, flags: int = 0) -> dict[str, Any]:
        with self.drv.lock:
            tuning, group = self._get_selection(ref, flags, "qemuDomainGetBlkioParameters")
            return params.blkio_parameters(tuning, group)

    def domain_get_scheduler_type(self, ref: DomainRef) -> tuple[str, int]:
        with self.drv.lock:
            self._dom(ref)
        return (params.SCHEDULER_TYPE, len(params.SCHED_FIELDS))

    def domain_get_scheduler_parameters_flags(self, ref: DomainRef, nparams: int = 9,
                                              flags: int = 0) -> dict[str, int]:
        with self.drv.lock:
            tuning, group = self._get_selection(ref, flags,
                                                "qemuDomainGetSchedulerParametersFlags")
            return params.scheduler_parameters(tuning, group)

    def domain_get_scheduler_parameters(self, ref: DomainRef, nparams: int = 9
                                        ) -> dict[str, int]:
        return self.domain_get_scheduler_parameters_flags(ref, nparams, 0)

    # --- changing ------------------------------------------------------------------
    def _set(self, ref: DomainRef, flags: int, change: Any, function: str) -> None:
        """Apply ``change(tuning, ddef) -> Tuning`` to the live group/XML and/or the config."""
        _check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG, function)
        with self.drv.lock:
            dom = self._dom(ref)
            live, config = hotplug.selected_defs(dom, flags)
            new_live = change(tuning_of(dom.live_def), dom.live_def) if live else None
            new_config = change(tuning_of(dom.persistent_def), dom.persistent_def) \
                if config else None
            if live:
                group = live_group(dom)
                if group is not None:
                    group.apply(new_live)
                    if threads.has_thread_groups(group):    # vcpuN/, emulator/
                        threads.apply_thread_tuning(group, new_live)
                params.write_tuning(dom.live_def, new_live)
                lifecycle.save_status(self.drv, dom)
            if config:
                params.write_tuning(dom.persistent_def, new_config)
                self.drv.save_config(dom)

    def domain_set_memory_parameters(self, ref: DomainRef, values: dict[str, Any],
                                     flags: int = 0) -> None:
        self._set(ref, flags, lambda t, _d: params.with_memory_parameters(t, values),
                  "qemuDomainSetMemoryParameters")

    def domain_set_blkio_parameters(self, ref: DomainRef, values: dict[str, Any],
                                    flags: int = 0) -> None:
        self._set(ref, flags, lambda t, _d: params.with_blkio_parameters(t, values),
                  "qemuDomainSetBlkioParameters")

    def domain_set_scheduler_parameters_flags(self, ref: DomainRef, values: dict[str, Any],
                                              flags: int = 0) -> None:
        self._set(ref, flags,
                  lambda t, d: params.with_scheduler_parameters(t, values, _vcpus(d)),
                  "qemuDomainSetSchedulerParametersFlags")

    def domain_set_scheduler_parameters(self, ref: DomainRef, values: dict[str, Any]) -> None:
        self.domain_set_scheduler_parameters_flags(ref, values, 0)
