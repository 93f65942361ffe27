"""The real virtual network driver: bridges, dnsmasq and nftables on this host.

``open_network(config_dir, run_dir, readonly)`` returns a
:class:`~pyvirt.drivers.network.driver.NetworkDriver` (a ``NetworkConnection``).
Connections to the same directories share one driver state, created (loaded,
reconciled with the host, autostart networks started) by the first open in
the process.

For the QEMU driver: :func:`attach_guest_interface` plugs a guest NIC into a
running network and returns ``(tap_name, tap_fd_or_None, bridge)``;
:func:`attach_bridge_interface` does the same on a host bridge (``<interface
type='bridge'>``); :func:`detach_guest_interface` removes such a tap.
:func:`filter_guest_interface` installs the traffic filter an interface's
``<filterref>`` asks for (see :mod:`pyvirt.network.nwfilter`); detaching a tap
removes its filter too. :func:`bandwidth_guest_interface` puts the NIC's
``<bandwidth>`` (or its network portgroup's) on its tap or veth with tc
(libvirt's layout, see :mod:`pyvirt.network.tc`); the qdiscs go with the device.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pyvirt.drivers.network import guests as _guests
from pyvirt.drivers.network.driver import NetworkDriver
from pyvirt.drivers.network.host import HostNetwork
from pyvirt.drivers.network.state import NetworkDriverState
from pyvirt.conf.netdev_bandwidth import Bandwidth, parse_bandwidth
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_FROM_NETWORK, error
from pyvirt.network import bandwidth as _bandwidth
from pyvirt.network import bridge as _links
from pyvirt.network import nwfilter as _nwfilter
from pyvirt.network import tap as _tap

_STATES: dict[tuple[Path, Path], NetworkDriverState] = {}
_STATES_LOCK = threading.Lock()


def _key(config_dir: Path, run_dir: Path) -> tuple[Path, Path]:
    return Path(config_dir).resolve(), Path(run_dir).resolve()


def open_network(config_dir: Path, run_dir: Path, readonly: bool = False, *,
                 host: HostNetwork | None = None, dnsmasq_binary: str | None = None,
                 dnsmasq_user: str | None = None) -> NetworkDriver:
    """A connection to the network driver keeping its files in these dirs.

    ``host``, ``dnsmasq_binary`` and ``dnsmasq_user`` only count for the first
    open of a pair of dirs (they configure the shared state).
    """
    key = _key(config_dir, run_dir)
    with _STATES_LOCK:
        state = _STATES.get(key)
        if state is None:
            state = NetworkDriverState(key[0], key[1], host=host,
                                       dnsmasq_binary=dnsmasq_binary,
                                       dnsmasq_user=dnsmasq_user)
            state.load()
            _STATES[key] = state
    return NetworkDriver(state, readonly)


def close_state(config_dir: Path, run_dir: Path, *, stop_networks: bool = False) -> None:
    """Forget the shared state of these dirs (tests, embedded shutdown); with
    ``stop_networks`` every running network is taken down first."""
    with _STATES_LOCK:
        state = _STATES.pop(_key(config_dir, run_dir), None)
    if state is not None:
        if stop_networks:
            state.shutdown()
        state.release()


def _connection(network: NetworkDriver | None) -> NetworkDriver:
    if network is not None:
        return network
    with _STATES_LOCK:
        states = list(_STATES.values())
    if len(states) != 1:
        raise error(VIR_ERR_INTERNAL_ERROR, "cannot tell which network driver to use: pass "
                    "the network connection", domain=VIR_FROM_NETWORK)
    return NetworkDriver(states[0])


def attach_guest_interface(network_name: str, mac: str, ifname_hint: str | None = None, *,
                           network: NetworkDriver | None = None,
                           want_fd: bool = True) -> tuple[str, int | None, str]:
    """A tap for a guest NIC with ``mac`` on running network ``network_name``.

    Returns (tap name, fd to pass to QEMU as ``-netdev tap,fd=N`` or None when
    ``want_fd`` is False and QEMU should open it by name with ``ifname=TAP,
    script=no,downscript=no``, bridge name). ``network`` is the connection
    from :func:`open_network`; it may be left out when one state is open.
    """
    return _connection(network).attach_guest_interface(network_name, mac, ifname_hint,
                                                       want_fd=want_fd)


def attach_bridge_interface(bridge: str, mac: str, ifname_hint: str | None = None, *,
                            want_fd: bool = True) -> tuple[str, int | None, str]:
    """A tap on an existing host bridge (``<interface type='bridge'>``)."""
    tap, fd = _tap.create_tap_in_bridge(bridge, mac, ifname_hint, want_fd=want_fd)
    return tap, fd, bridge


def filter_guest_interface(nic, tap_name: str, *, network: NetworkDriver | None = None
                           ) -> "_nwfilter.PortFilter | None":
    """Install the filter of an ``<interface>`` lxml element's ``<filterref>`` on its
    tap (None when it has none). For ``type='network'`` the network's static
    DHCP lease for the NIC's MAC counts as the guest's IP, beside the
    filterref's own ``IP`` parameters."""
    if nic.find("filterref") is None:
        return None
    ips: list[str] = []
    source = nic.find("source")
    mac_el = nic.find("mac")
    if nic.get("type") == "network" and source is not None and mac_el is not None:
        with _STATES_LOCK:
            states = [network.state] if network is not None else list(_STATES.values())
        for state in states:
            net = state.nets.find_by_name(source.get("network"))
            if net is not None:
                ips = _guests.static_ips(net, mac_el.get("address"))
                break
    return _nwfilter.bind_interface(nic, tap_name, ips=ips)


def guest_bandwidth(nic, *, network: NetworkDriver | None = None) -> Bandwidth | None:
    """The bandwidth a guest NIC (an ``<interface>`` lxml element) runs with: its own
    ``<bandwidth>``, else for ``type='network'`` its portgroup's (the named one or
    the network's default portgroup), as libvirt's actual bandwidth."""
    own = parse_bandwidth(nic.find("bandwidth"), allow_floor=True)
    if own is not None or nic.get("type") != "network":
        return own
    source = nic.find("source")
    if source is None:
        return None
    with _STATES_LOCK:     # (a caller's stand-in connection without a state: none)
        states = ([network.state] if hasattr(network, "state") else []) \
            if network is not None else list(_STATES.values())
    for state in states:
        net = state.nets.find_by_name(source.get("network"))
        if net is not None:
            return net.definition.portgroup_bandwidth(source.get("portgroup"))
    return None


def bandwidth_guest_interface(nic, ifname: str, *, network: NetworkDriver | None = None
                              ) -> Bandwidth | None:
    """Apply the NIC's bandwidth (:func:`guest_bandwidth`) on its host-side device
    ``ifname`` (a tap or the host end of a veth: the guest's inbound is that
    device's transmit side, libvirt's "swapped"); an inbound ``floor`` of a
    ``type='network'`` NIC also gets its guaranteed class on the network's bridge
    (removed when the tap is detached). Returns what was applied."""
    rates = guest_bandwidth(nic, network=network)
    if rates is None or rates.empty:
        return rates
    source, mac = nic.find("source"), nic.find("mac")
    if rates.inbound is not None and rates.inbound.floor and nic.get("type") == "network" \
            and source is not None and mac is not None:
        # the network's side first, as libvirt's port allocation (checks, then class)
        _connection(network).plug_guest_floor(source.get("network"), ifname,
                                              mac.get("address"), rates.inbound)
    _bandwidth.set_bandwidth(ifname, rates, hierarchical=False, swapped=True)
    return rates


def detach_guest_interface(tap_name: str, *, network: NetworkDriver | None = None) -> None:
    """Remove a tap made by either attach function (no error when already gone),
    and its traffic filter if it had one."""
    _nwfilter.remove_ports_quietly([tap_name])
    with _STATES_LOCK:
        states = [network.state] if network is not None else list(_STATES.values())
    for state in states:
        if NetworkDriver(state).detach_guest_interface(tap_name):
            return
    _links.delete_link(tap_name)


__all__ = ["open_network", "close_state", "attach_guest_interface",
           "attach_bridge_interface", "detach_guest_interface", "filter_guest_interface",
           "guest_bandwidth", "bandwidth_guest_interface", "NetworkDriver",
           "NetworkDriverState", "HostNetwork"]
