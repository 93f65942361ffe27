"""Shared cgroup v1/v2 support for every driver that confines processes.

``hierarchy`` finds where each controller is mounted (v1, v2 or a hybrid of
both); ``tuning`` reads a domain's ``<memtune>``, ``<cputune>`` and
``<blkiotune>`` into a plain :class:`~pyvirt.cgroups.tuning.Tuning` (no I/O);
``group`` is one domain's cgroup: create, place a process, apply the tuning,
read stats and limits back, remove; ``threads`` its ``vcpuN``/``emulator``
children (one vCPU thread each, QEMU's other threads); ``params`` is libvirt's typed parameters
for memtune/schedinfo/blkiotune (getters, checked setters, the XML edit).
"""

from pyvirt.cgroups.group import DomainCgroup, domain_group_name
from pyvirt.cgroups.hierarchy import Layout, layout, parse_mounts
from pyvirt.cgroups.tuning import Tuning, tuning_of

__all__ = ["DomainCgroup", "Layout", "Tuning", "domain_group_name", "layout",
           "parse_mounts", "tuning_of"]
