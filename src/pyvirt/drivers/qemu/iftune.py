"""``virsh domiftune``: virDomainGet/SetInterfaceParameters for QEMU guests.

The seven ``VIR_DOMAIN_BANDWIDTH_*`` typed parameters read and write a NIC's
``<bandwidth>`` (the NIC found by MAC or by its ``<target dev>``, as libvirt's
virDomainNetFind). A live change is applied on the guest's tap with tc
(:mod:`pyvirt.network.bandwidth`, libvirt's layout, "swapped" as for every tap
on a bridge) and kept in the live XML; a config change goes to the persistent
XML. The parameter merge is libvirt's: a direction named in the parameters is
replaced whole (its average and floor both 0 removes it), the other keeps its
old rates. :func:`interface_parameters` and :func:`merged_bandwidth` are pure.
Mixed into :class:`pyvirt.drivers.qemu.driver.QemuHypervisor`.
"""

from __future__ import annotations

from typing import Any

from pyvirt.conf.netdev_bandwidth import Bandwidth, Rate, parse_bandwidth, set_bandwidth
from pyvirt.conf.network import parse_mac
from pyvirt.drivers.base import DomainRef
from pyvirt.errors import (
    VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INVALID_ARG,
    VIR_FROM_DOMAIN, VIR_FROM_QEMU, error, libvirtError,
)
from pyvirt.objects import numbers as n

#: libvirt's VIR_DOMAIN_BANDWIDTH_* names, in the order GetInterfaceParameters gives them
PARAMS = ("inbound.average", "inbound.peak", "inbound.burst", "inbound.floor",
          "outbound.average", "outbound.peak", "outbound.burst")
#: interface types whose bandwidth libvirt can set (virNetDevSupportsBandwidth)
BANDWIDTH_TYPES = ("bridge", "network", "direct", "ethernet")
_STRING_OKAY = 1 << 2


def find_nic(ddef: Any, device: str) -> Any:
    """The ``<interface>`` element named by MAC address or target device name."""
    nics = list(ddef.node.iterfind("devices/interface"))
    mac = parse_mac(device) if ":" in device else None
    for nic in nics:
        if mac is not None:
            node = nic.find("mac")
            if node is not None and (parse_mac(node.get("address") or "") or "") == mac:
                return nic
        else:
            target = nic.find("target")
            if target is not None and target.get("dev") == device:
                return nic
    raise error(VIR_ERR_INVALID_ARG, f"'{device}' is not a known interface",
                domain=VIR_FROM_DOMAIN)


def interface_parameters(nic: Any) -> dict[str, int]:
    """The seven parameters of a NIC (0 where unset)."""
    rates = parse_bandwidth(nic.find("bandwidth"), allow_floor=True) or Bandwidth()
    inbound, outbound = rates.inbound or Rate(), rates.outbound or Rate()
    return {"inbound.average": inbound.average, "inbound.peak": inbound.peak,
            "inbound.burst": inbound.burst, "inbound.floor": inbound.floor,
            "outbound.average": outbound.average, "outbound.peak": outbound.peak,
            "outbound.burst": outbound.burst}


def check_parameters(params: dict[str, Any]) -> dict[str, int]:
    """libvirt's virTypedParamsValidate for the seven unsigned ints."""
    checked = {}
    for name, value in params.items():
        if name not in PARAMS:
            raise error(VIR_ERR_ARGUMENT_UNSUPPORTED, f"parameter '{name}' not supported",
                        domain=VIR_FROM_DOMAIN)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 32:
            raise error(VIR_ERR_INVALID_ARG, f"invalid type for parameter '{name}', "
                        "expected 'uint'", domain=VIR_FROM_DOMAIN)
        checked[name] = value
    return checked


def _side(params: dict[str, int], side: str, old: Rate | None) -> Rate | None:
    named = {key.split(".", 1)[1]: value for key, value in params.items()
             if key.startswith(side + ".")}
    if not named:
        return old
    rate = Rate(**named)
    return rate if rate.average or rate.floor else None


def merged_bandwidth(old: Bandwidth | None, params: dict[str, int]) -> Bandwidth | None:
    """The NIC's bandwidth after SetInterfaceParameters(params), libvirt's merge."""
    old = old or Bandwidth()
    new = Bandwidth(_side(params, "inbound", old.inbound),
                    _side(params, "outbound", old.outbound))
    return None if new.inbound is None and new.outbound is None else new


def _store(nic: Any, rates: Bandwidth | None) -> None:
    set_bandwidth(nic, rates, insert_before=("port", "ip", "route", "script", "downscript",
                                             "backenddomain", "target", "guest", "model",
                                             "driver", "backend", "filterref", "tune",
                                             "teaming", "link", "mtu", "coalesce", "rom",
                                             "boot", "alias", "address"))


class InterfaceTuningEntries:
    """virDomainGetInterfaceParameters / virDomainSetInterfaceParameters."""

    drv: Any

    def _dom(self, ref: DomainRef) -> Any:  # provided by QemuHypervisor
        raise NotImplementedError

    def domain_get_interface_parameters(self, ref: DomainRef, device: str | None,
                                        flags: int = 0) -> dict[str, int]:
        """The seven parameters; ``device`` None asks only which there are (the
        remote protocol's nparams=0 call, answered before any NIC lookup)."""
        from pyvirt.drivers.qemu import hotplug
        _check_flags(flags & ~_STRING_OKAY, "qemuDomainGetInterfaceParameters")
        if flags & n.AFFECT_LIVE and flags & n.AFFECT_CONFIG:
            # virReportInvalidArg: code INVALID_ARG, the message without its prefix
            raise libvirtError("Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' "
                               "are mutually exclusive", code=VIR_ERR_INVALID_ARG,
                               domain=VIR_FROM_DOMAIN)
        with self.drv.lock:
            dom = self._dom(ref)
            live, _config = hotplug.selected_defs(dom, flags & ~_STRING_OKAY)
            if device is None:
                return dict.fromkeys(PARAMS, 0)
            ddef = dom.live_def if live else dom.persistent_def
            return interface_parameters(find_nic(ddef, device))

    def domain_set_interface_parameters(self, ref: DomainRef, device: str,
                                        params: dict[str, Any], flags: int = 0) -> None:
        from pyvirt.drivers.qemu import hotplug, lifecycle
        from pyvirt.network.bandwidth import set_bandwidth as apply
        _check_flags(flags, "qemuDomainSetInterfaceParameters")
        values = check_parameters(dict(params))
        with self.drv.lock:
            dom = self._dom(ref)
            live, config = hotplug.selected_defs(dom, flags)
            live_nic = find_nic(dom.live_def, device) if live else None
            config_nic = find_nic(dom.persistent_def, device) if config else None
            for nic in (live_nic, config_nic):
                if nic is not None and nic.get("type") not in BANDWIDTH_TYPES:
                    raise error(VIR_ERR_CONFIG_UNSUPPORTED, "setting bandwidth on interfaces "
                                f"of type '{nic.get('type')}' is not implemented yet",
                                domain=VIR_FROM_QEMU)
            if live_nic is not None:
                rates = merged_bandwidth(parse_bandwidth(live_nic.find("bandwidth"),
                                                         allow_floor=True), values)
                target = live_nic.find("target")
                ifname = target.get("dev") if target is not None else None
                if ifname:
                    apply(ifname, rates or Bandwidth(), hierarchical=False, swapped=True)
                _store(live_nic, rates)
                lifecycle.save_status(self.drv, dom)
            if config_nic is not None:
                rates = merged_bandwidth(parse_bandwidth(config_nic.find("bandwidth"),
                                                         allow_floor=True), values)
                _store(config_nic, rates)
                self.drv.save_config(dom)


def _check_flags(flags: int, function: str) -> None:
    allowed = n.AFFECT_LIVE | n.AFFECT_CONFIG
    if flags & ~allowed:
        raise error(VIR_ERR_INVALID_ARG, f"unsupported flags (0x{flags & ~allowed:x}) in "
                    f"function {function}", domain=VIR_FROM_QEMU)
