"""``virDomain``'s tuning, thread, job and guest-agent calls.

A mixin of :class:`pyvirt.api.domain.virDomain` (beside ``_domain_more``): thin
dispatch to the hypervisor table with libvirt's function names, so a driver
without the entry point answers VIR_ERR_NO_SUPPORT as libvirt does. libvirt's
test driver implements none of the job/block/agent calls; the tunables are
left to drivers that keep them (the QEMU driver).
"""

from __future__ import annotations

from typing import Any

from pyvirt.api._domain_more import bools_to_cpumap, cpumap_to_bools

_TYPED_PARAM_STRING_OKAY = 1 << 2     # what libvirt-python adds to its typed-param calls


class DomainTuning:
    """Typed-parameter tunables, IOThreads, emulator pinning, jobs, blocks, agent."""

    # (provided by virDomain / DomainMore)
    _call: Any
    _change: Any
    _host_cpu_count: Any

    # --- jobs, blocks and guest agent calls (libvirt's test driver has none) -----------
    def jobInfo(self) -> list[int]:  # noqa: N802
        return list(self._call("domain_get_job_info", "virDomainGetJobInfo"))

    def jobStats(self, flags=0) -> dict[str, Any]:  # noqa: N802
        return dict(self._call("domain_get_job_stats", "virDomainGetJobStats", flags))

    def abortJob(self) -> int:  # noqa: N802
        self._change("domain_abort_job", "virDomainAbortJob")
        return 0

    def blockStatsFlags(self, path, flags=0) -> dict[str, int]:  # noqa: N802
        return dict(self._call("domain_block_stats_flags", "virDomainBlockStatsFlags", path,
                               0, flags | _TYPED_PARAM_STRING_OKAY))

    def blockJobInfo(self, path, flags=0) -> dict[str, int]:  # noqa: N802
        return dict(self._call("domain_get_block_job_info", "virDomainGetBlockJobInfo", path,
                               flags))

    def blockResize(self, disk, size, flags=0) -> int:  # noqa: N802
        self._change("domain_block_resize", "virDomainBlockResize", disk, size, flags)
        return 0

    def blockPeek(self, disk, offset, size, flags=0) -> bytes:  # noqa: N802
        return bytes(self._call("domain_block_peek", "virDomainBlockPeek", disk, offset,
                                size, flags))

    def pMWakeup(self, flags=0) -> int:  # noqa: N802
        self._change("domain_pm_wakeup", "virDomainPMWakeup", flags)
        return 0

    def pMSuspendForDuration(self, target, duration, flags=0) -> int:  # noqa: N802
        self._change("domain_pm_suspend_for_duration", "virDomainPMSuspendForDuration",
                     target, duration, flags)
        return 0

    def guestInfo(self, types=0, flags=0) -> dict[str, Any]:  # noqa: N802
        return dict(self._call("domain_get_guest_info", "virDomainGetGuestInfo", types,
                               flags))

    def setGuestVcpus(self, cpumap, state, flags=0) -> int:  # noqa: N802
        self._change("domain_set_guest_vcpus", "virDomainSetGuestVcpus", cpumap, state, flags)
        return 0

    def setVcpu(self, vcpumap, state, flags=0) -> int:  # noqa: N802
        self._change("domain_set_vcpu", "virDomainSetVcpu", vcpumap, state, flags)
        return 0

    def securityLabelList(self) -> list[list[Any]]:  # noqa: N802
        return [list(label) for label in self._call("domain_get_security_label_list",
                                                    "virDomainGetSecurityLabelList")]

    def managedSaveGetXMLDesc(self, flags=0) -> str:  # noqa: N802
        return self._call("domain_managed_save_get_xml_desc", "virDomainManagedSaveGetXMLDesc",
                          flags)

    def migrateGetMaxSpeed(self, flags=0) -> int:  # noqa: N802
        return self._call("domain_migrate_get_max_speed", "virDomainMigrateGetMaxSpeed", flags)

    def setBlockThreshold(self, dev, threshold, flags=0) -> int:  # noqa: N802
        self._change("domain_set_block_threshold", "virDomainSetBlockThreshold", dev,
                     threshold, flags)
        return 0

    def authorizedSSHKeysGet(self, user, flags=0) -> list[str]:  # noqa: N802
        return list(self._call("domain_authorized_ssh_keys_get",
                               "virDomainAuthorizedSSHKeysGet", user, flags))

    # --- tunables (typed parameters) ---------------------------------------------------
    def memoryParameters(self, flags=0) -> dict[str, Any]:  # noqa: N802
        return dict(self._call("domain_get_memory_parameters",
                               "virDomainGetMemoryParameters", flags))

    def setMemoryParameters(self, params, flags=0) -> int:  # noqa: N802
        self._change("domain_set_memory_parameters", "virDomainSetMemoryParameters",
                     dict(params), flags)
        return 0

    def blkioParameters(self, flags=0) -> dict[str, Any]:  # noqa: N802
        return dict(self._call("domain_get_blkio_parameters", "virDomainGetBlkioParameters",
                               flags))

    def setBlkioParameters(self, params, flags=0) -> int:  # noqa: N802
        self._change("domain_set_blkio_parameters", "virDomainSetBlkioParameters",
                     dict(params), flags)
        return 0

    def numaParameters(self, flags=0) -> dict[str, Any]:  # noqa: N802
        return dict(self._call("domain_get_numa_parameters", "virDomainGetNumaParameters",
                               flags))

    def setNumaParameters(self, params, flags=0) -> int:  # noqa: N802
        self._change("domain_set_numa_parameters", "virDomainSetNumaParameters",
                     dict(params), flags)
        return 0

    def interfaceParameters(self, device, flags=0) -> dict[str, Any]:  # noqa: N802
        return dict(self._call("domain_get_interface_parameters",
                               "virDomainGetInterfaceParameters", device, flags))

    def setInterfaceParameters(self, device, params, flags=0) -> int:  # noqa: N802
        self._change("domain_set_interface_parameters", "virDomainSetInterfaceParameters",
                     device, dict(params), flags)
        return 0

    def blockIoTune(self, disk, flags=0) -> dict[str, Any]:  # noqa: N802
        return dict(self._call("domain_get_block_io_tune", "virDomainGetBlockIoTune", disk,
                               flags))

    def setBlockIoTune(self, disk, params, flags=0) -> int:  # noqa: N802
        self._change("domain_set_block_io_tune", "virDomainSetBlockIoTune", disk,
                     dict(params), flags)
        return 0

    def perfEvents(self, flags=0) -> dict[str, bool]:  # noqa: N802
        return dict(self._call("domain_get_perf_events", "virDomainGetPerfEvents", flags))

    def setPerfEvents(self, params, flags=0) -> int:  # noqa: N802
        self._change("domain_set_perf_events", "virDomainSetPerfEvents", dict(params), flags)
        return 0

    def setLifecycleAction(self, type, action, flags=0) -> int:  # noqa: N802,A002
        self._change("domain_set_lifecycle_action", "virDomainSetLifecycleAction", type,
                     action, flags)
        return 0

    def setMemoryStatsPeriod(self, period, flags=0) -> int:  # noqa: N802
        self._change("domain_set_memory_stats_period", "virDomainSetMemoryStatsPeriod",
                     period, flags)
        return 0

    # --- threads and guest agent --------------------------------------------------------
    def ioThreadInfo(self, flags=0) -> list[tuple[int, list[bool]]]:  # noqa: N802
        return [tuple(t) for t in self._call("domain_get_iothread_info",
                                             "virDomainGetIOThreadInfo", flags)]

    def addIOThread(self, iothread_id, flags=0) -> int:  # noqa: N802
        self._change("domain_add_iothread", "virDomainAddIOThread", iothread_id, flags)
        return 0

    def delIOThread(self, iothread_id, flags=0) -> int:  # noqa: N802
        self._change("domain_del_iothread", "virDomainDelIOThread", iothread_id, flags)
        return 0

    def emulatorPinInfo(self, flags=0) -> tuple[bool, ...]:  # noqa: N802
        ncpus = self._host_cpu_count()
        return cpumap_to_bools(self._call("domain_get_emulator_pin_info",
                                          "virDomainGetEmulatorPinInfo", (ncpus + 7) // 8,
                                          flags), ncpus)

    def pinEmulator(self, cpumap, flags=0) -> int:  # noqa: N802
        self._change("domain_pin_emulator", "virDomainPinEmulator",
                     bools_to_cpumap(cpumap, self._host_cpu_count()), flags)
        return 0

    def fsFreeze(self, mountpoints=None, flags=0) -> int:  # noqa: N802
        return self._change("domain_fs_freeze", "virDomainFSFreeze",
                            list(mountpoints or []), flags)

    def fsThaw(self, mountpoints=None, flags=0) -> int:  # noqa: N802
        return self._change("domain_fs_thaw", "virDomainFSThaw", list(mountpoints or []),
                            flags)

    def fSTrim(self, mountPoint, minimum, flags=0) -> int:  # noqa: N802,N803
        self._change("domain_fstrim", "virDomainFSTrim", mountPoint, minimum, flags)
        return 0

    def setUserPassword(self, user, password, flags=0) -> int:  # noqa: N802
        self._change("domain_set_user_password", "virDomainSetUserPassword", user, password,
                     flags)
        return 0

    def setTime(self, time=None, flags=0) -> int:  # noqa: N802
        self._change("domain_set_time", "virDomainSetTime", dict(time or {}), flags)
        return 0

    def sendProcessSignal(self, pid_value, signum, flags=0) -> int:  # noqa: N802
        self._change("domain_send_process_signal", "virDomainSendProcessSignal", pid_value,
                     signum, flags)
        return 0

    def coreDump(self, to, flags=0) -> int:  # noqa: N802
        self._change("domain_core_dump", "virDomainCoreDump", to, flags)
        return 0
