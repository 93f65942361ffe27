"""Entry points whose wire shape differs from the driver's: the inverses of
the daemon's handlers in :mod:`pyvirt.remote.dispatch`, and libvirt's client
habit of asking for a count first, then for the values."""

from __future__ import annotations

from typing import Any

from pyvirt.drivers.base import DomainRef
from pyvirt.remote.shapes import MEMORY_STAT_TAGS, params_dict, typed_params

#: VIR_DOMAIN_MEMORY_STAT_NR in libvirt 9.0
MEMORY_STAT_NR = 13
_TAG_NAMES = {tag: name for name, tag in MEMORY_STAT_TAGS.items()}
TYPED_PARAM_STRING_OKAY = 1 << 2


def split_maps(packed: bytes, count: int, maplen: int) -> list[bytes]:
    return [bytes(packed[i * maplen:(i + 1) * maplen]) for i in range(count)]


class ReshapedEntries:
    """Mixin of :class:`~pyvirt.drivers.remote.tables.RemoteTables`; ``self._rpc``
    is the connection."""

    _rpc: Any

    def domain_memory_stats(self, dom: DomainRef, max_stats: int = MEMORY_STAT_NR,
                            flags: int = 0) -> dict[str, int]:
        stats = self._rpc.call("DOMAIN_MEMORY_STATS", dom=dom,
                               maxStats=max_stats or MEMORY_STAT_NR, flags=flags)
        return {_TAG_NAMES.get(s["tag"], str(s["tag"])): s["val"] for s in stats}

    def domain_get_cpu_stats(self, dom: DomainRef, start_cpu: int, ncpus: int,
                             flags: int = 0) -> list[dict[str, Any]]:
        wire_flags = flags | TYPED_PARAM_STRING_OKAY
        width = self._rpc.call("DOMAIN_GET_CPU_STATS", dom=dom, nparams=0,
                               start_cpu=start_cpu, ncpus=max(ncpus, 1),
                               flags=wire_flags)["nparams"]
        if width <= 0:
            return []
        ret = self._rpc.call("DOMAIN_GET_CPU_STATS", dom=dom, nparams=width,
                             start_cpu=start_cpu, ncpus=max(ncpus, 1), flags=wire_flags)
        params = ret["params"]
        return [params_dict(params[i:i + width]) for i in range(0, len(params), width)]

    def connect_get_all_domain_stats(self, doms: list[DomainRef] | None, stats: int,
                                     flags: int = 0) -> list[tuple[DomainRef, dict]]:
        records = self._rpc.call("CONNECT_GET_ALL_DOMAIN_STATS", doms=list(doms or []),
                                 stats=stats, flags=flags)
        return [(r["dom"], params_dict(r["params"])) for r in records]

    def domain_get_vcpus(self, dom: DomainRef, maxinfo: int, maplen: int
                         ) -> tuple[list[tuple], list[bytes]]:
        ret = self._rpc.call("DOMAIN_GET_VCPUS", dom=dom, maxinfo=maxinfo, maplen=maplen)
        info = [(i["number"], i["state"], i["cpu_time"], i["cpu"]) for i in ret["info"]]
        return info, split_maps(ret["cpumaps"], len(info), maplen)

    def domain_get_vcpu_pin_info(self, dom: DomainRef, ncpumaps: int, maplen: int,
                                 flags: int = 0) -> list[bytes]:
        ret = self._rpc.call("DOMAIN_GET_VCPU_PIN_INFO", dom=dom, ncpumaps=ncpumaps,
                             maplen=maplen, flags=flags)
        return split_maps(ret["cpumaps"], ret["num"], maplen)

    def domain_get_block_info(self, dom: DomainRef, path: str, flags: int = 0) -> list[int]:
        ret = self._rpc.call("DOMAIN_GET_BLOCK_INFO", dom=dom, path=path, flags=flags)
        return [ret["capacity"], ret["allocation"], ret["physical"]]

    def domain_get_disk_errors(self, dom: DomainRef, maxerrors: int = -1,
                               flags: int = 0) -> dict[str, int]:
        count = self._rpc.call("DOMAIN_GET_DISK_ERRORS", dom=dom, maxerrors=0,
                               flags=flags)["nerrors"]
        if count <= 0:
            return {}
        ret = self._rpc.call("DOMAIN_GET_DISK_ERRORS", dom=dom, maxerrors=count, flags=flags)
        return {e["disk"]: e["error"] for e in ret["errors"]}

    def domain_get_fsinfo(self, dom: DomainRef, flags: int = 0) -> list[tuple]:
        ret = self._rpc.call("DOMAIN_GET_FSINFO", dom=dom, flags=flags)
        return [(i["mountpoint"], i["name"], i["fstype"], list(i["dev_aliases"]))
                for i in ret["info"]]

    def domain_interface_addresses(self, dom: DomainRef, source: int = 0,
                                   flags: int = 0) -> dict[str, Any]:
        ifaces = self._rpc.call("DOMAIN_INTERFACE_ADDRESSES", dom=dom, source=source,
                                flags=flags)
        return {i["name"]: {"hwaddr": i["hwaddr"],
                            "addrs": [dict(a) for a in i["addrs"]]} for i in ifaces}

    def domain_block_stats_flags(self, dom: DomainRef, path: str, nparams: int = 0,
                                 flags: int = 0) -> dict[str, Any]:
        wire_flags = flags | TYPED_PARAM_STRING_OKAY
        count = self._rpc.call("DOMAIN_BLOCK_STATS_FLAGS", dom=dom, path=path, nparams=0,
                               flags=wire_flags)["nparams"]
        if count <= 0:
            return {}
        ret = self._rpc.call("DOMAIN_BLOCK_STATS_FLAGS", dom=dom, path=path, nparams=count,
                             flags=wire_flags)
        return params_dict(ret["params"])

    def node_get_cpu_map(self, need_map: bool, need_online: bool,
                         flags: int = 0) -> tuple[bytes | None, int | None, int]:
        ret = self._rpc.call("NODE_GET_CPU_MAP", need_map=int(bool(need_map)),
                             need_online=int(bool(need_online)), flags=flags)
        return (bytes(ret["cpumap"]) if need_map else None,
                ret["online"] if need_online else None, ret["ret"])

    def domain_rename(self, dom: DomainRef, new_name: str, flags: int = 0) -> None:
        self._rpc.call("DOMAIN_RENAME", dom=dom, new_name=new_name, flags=flags)

    def _scheduler_count(self, dom: DomainRef) -> int:
        """libvirt-python sizes scheduler queries by the scheduler type's nparams."""
        return self._rpc.call("DOMAIN_GET_SCHEDULER_TYPE", dom=dom)["nparams"]

    def domain_get_scheduler_parameters(self, dom: DomainRef, nparams: int | None = None
                                        ) -> dict[str, Any]:
        count = self._scheduler_count(dom)
        return params_dict(self._rpc.call("DOMAIN_GET_SCHEDULER_PARAMETERS", dom=dom,
                                          nparams=count)) if count > 0 else {}

    def domain_get_scheduler_parameters_flags(self, dom: DomainRef, nparams: int | None = None,
                                              flags: int = 0) -> dict[str, Any]:
        count = self._scheduler_count(dom)
        if count <= 0:
            return {}
        return params_dict(self._rpc.call("DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS", dom=dom,
                                          nparams=count, flags=flags))

    def domain_set_scheduler_parameters(self, dom: DomainRef, params: dict) -> None:
        self._rpc.call("DOMAIN_SET_SCHEDULER_PARAMETERS", dom=dom, params=typed_params(params))

    def _counted_params(self, procedure: str, dom: DomainRef, flags: int) -> dict[str, Any]:
        """libvirt's client: ask for the count (nparams 0), then for that many."""
        wire_flags = flags | TYPED_PARAM_STRING_OKAY
        count = self._rpc.call(procedure, dom=dom, nparams=0, flags=wire_flags)["nparams"]
        if count <= 0:
            return {}
        ret = self._rpc.call(procedure, dom=dom, nparams=count, flags=wire_flags)
        return params_dict(ret["params"])

    def domain_get_memory_parameters(self, dom: DomainRef, flags: int = 0) -> dict[str, Any]:
        return self._counted_params("DOMAIN_GET_MEMORY_PARAMETERS", dom, flags)

    def domain_get_blkio_parameters(self, dom: DomainRef, flags: int = 0) -> dict[str, Any]:
        return self._counted_params("DOMAIN_GET_BLKIO_PARAMETERS", dom, flags)

    def domain_get_interface_parameters(self, dom: DomainRef, device: str,
                                        flags: int = 0) -> dict[str, Any]:
        wire_flags = flags | TYPED_PARAM_STRING_OKAY
        count = self._rpc.call("DOMAIN_GET_INTERFACE_PARAMETERS", dom=dom, device=device,
                               nparams=0, flags=wire_flags)["nparams"]
        if count <= 0:
            return {}
        ret = self._rpc.call("DOMAIN_GET_INTERFACE_PARAMETERS", dom=dom, device=device,
                             nparams=count, flags=wire_flags)
        return params_dict(ret["params"])

    def domain_get_security_label_list(self, dom: DomainRef) -> list[list[Any]]:
        ret = self._rpc.call("DOMAIN_GET_SECURITY_LABEL_LIST", dom=dom)
        return [[label["label"], label["enforcing"]] for label in ret["labels"]]

    def domain_create(self, dom: DomainRef) -> DomainRef:
        """libvirt's client: DOMAIN_CREATE, then DOMAIN_LOOKUP_BY_UUID for the new id."""
        self._rpc.call("DOMAIN_CREATE", dom=dom)
        return self._rpc.call("DOMAIN_LOOKUP_BY_UUID", uuid=dom.uuid)


#: entry points written here (the generator leaves them alone)
RESHAPED = frozenset(name for name in vars(ReshapedEntries) if not name.startswith("_"))
