"""``<bandwidth>`` with tc: libvirt's command lines (pure), and the same layout sent
over netlink inside a network namespace, read back beside what the real ``tc``
makes of libvirt's own command lines."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from pyvirt.conf.netdev_bandwidth import Bandwidth, Rate
from pyvirt.errors import libvirtError
from pyvirt.network import tc
from pyvirt.network.netns import netns_supported, run_in_new_netns

RATES = Bandwidth(inbound=Rate(average=1000, peak=5000, burst=1024),
                  outbound=Rate(average=128, peak=256, burst=256))


# --- the plan (pure) -----------------------------------------------------------------------
def test_guest_tap_plan_is_libvirts_command_list():
    """virNetDevBandwidthSet(tap, bw, hierarchical=false, swapped=true): the guest's
    inbound shapes the tap's transmit side, its outbound polices the tap's ingress."""
    argv = [" ".join(step.argv) for step in tc.bandwidth_plan("vnet0", RATES)]
    assert argv == [
        "tc qdisc add dev vnet0 root handle 1: htb default 1",
        "tc class add dev vnet0 parent 1: classid 1:1 htb rate 1000kbps ceil 5000kbps "
        "burst 1024kb quantum 85",
        "tc qdisc add dev vnet0 parent 1:1 handle 2: sfq perturb 10",
        "tc filter add dev vnet0 parent 1:0 protocol all prio 1 handle 1 fw flowid 1",
        "tc qdisc add dev vnet0 ingress",
        "tc filter add dev vnet0 parent ffff: protocol all u32 match u32 0 0 police rate "
        "128kbps burst 256kb mtu 64kb drop flowid :1",
    ]


def test_network_bridge_plan_is_hierarchical():
    steps = tc.bandwidth_plan("virbr0", Bandwidth(inbound=Rate(average=2000)),
                              hierarchical=True)
    assert [" ".join(s.argv) for s in steps] == [
        "tc qdisc add dev virbr0 root handle 1: htb default 2",
        "tc class add dev virbr0 parent 1: classid 1:1 htb rate 2000kbps ceil 2000kbps "
        "quantum 170",
        "tc class add dev virbr0 parent 1:1 classid 1:2 htb rate 2000kbps quantum 170",
        "tc qdisc add dev virbr0 parent 1:2 handle 2: sfq perturb 10",
        "tc filter add dev virbr0 parent 1:0 protocol all prio 1 handle 1 fw flowid 1",
    ]
    top, leaf = steps[1], steps[2]
    assert (top.handle, top.params) == (0x10001, {"parent": 0x10000, "rate": 2_000_000,
                                                   "ceil": 2_000_000, "quantum": 170})
    assert (leaf.handle, leaf.params) == (0x10002, {"parent": 0x10001, "rate": 2_000_000,
                                                    "quantum": 170})


def test_units_are_tcs_kbps_and_kb():
    leaf = tc.bandwidth_plan("t", RATES)[1]
    assert leaf.params == {"parent": 0x10000, "rate": 1_000_000, "ceil": 5_000_000,
                           "burst": 1024 * 1024, "quantum": 85}
    police = tc.bandwidth_plan("t", RATES)[-1]
    assert police.params["rate"] == 128_000 and police.params["burst"] == 256 * 1024
    assert police.params["mtu"] == 65536 and police.feature == "police"


def test_unswapped_and_one_direction_and_defaults():
    only_out = Bandwidth(outbound=Rate(average=10))
    assert [s.kind for s in tc.bandwidth_plan("e", only_out, swapped=False)] == \
        ["htb", "htb", "sfq", "fw"]
    police = tc.bandwidth_plan("e", only_out)[-1]
    assert "police rate 10kbps burst 10kb mtu 64kb drop" in " ".join(police.argv)
    assert tc.bandwidth_plan("e", None) == []
    assert tc.bandwidth_plan("e", Bandwidth(inbound=Rate(floor=5))) == []   # floor only
    assert tc.quantum(Rate(average=1)) == 1                                 # at least 1
    assert [s.optional for s in tc.bandwidth_plan("e", RATES)] == \
        [False, False, True, True, False, False]


def test_clear_is_libvirts():
    assert tc.clear_argv("vnet3") == [("tc", "qdisc", "del", "dev", "vnet3", "root"),
                                      ("tc", "qdisc", "del", "dev", "vnet3", "ingress")]
    assert tc.format_handle(0xFFFF0000) == "ffff:0" and tc.format_handle(0x10002) == "1:2"


# --- for real, in a namespace --------------------------------------------------------------
real = pytest.mark.skipif(not (netns_supported() and shutil.which("tc")),
                          reason="needs root, network namespaces and tc (iproute2)")


def _veth(name: str) -> None:
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p"],
                   check=True)
    subprocess.run(["ip", "link", "set", name, "up"], check=True)


def _kernel_has(step: tc.TcStep, ifname: str) -> bool:
    """Whether ``tc`` can run this step of libvirt's on a scratch link."""
    _veth("probe0")
    try:
        for prior in tc.bandwidth_plan("probe0", RATES):
            if prior.kind == step.kind:
                break
            subprocess.run(prior.argv, capture_output=True)
        argv = [("probe0" if a == ifname else a) for a in step.argv]
        return subprocess.run(argv, capture_output=True).returncode == 0
    finally:
        subprocess.run(["ip", "link", "del", "probe0"], capture_output=True)


def _side_by_side(rates: Bandwidth, hierarchical: bool) -> dict:
    """libvirt's argv through the real tc on veth a0, ours over netlink on b0."""
    from pyvirt.network import bandwidth
    _veth("a0")
    _veth("b0")
    ran = []
    for step in tc.bandwidth_plan("a0", rates, hierarchical=hierarchical):
        done = subprocess.run(step.argv, capture_output=True, text=True)
        ran.append((step.kind, done.returncode))
    try:
        skipped = bandwidth.set_bandwidth("b0", rates, hierarchical=hierarchical)
        failure = None
    except libvirtError as err:
        skipped, failure = [], str(err)
    out = {"theirs": bandwidth.read_bandwidth("a0"), "ours": bandwidth.read_bandwidth("b0"),
           "ran": ran, "skipped": skipped, "failure": failure,
           "tc_text": [subprocess.run(["tc", "-d", "class", "show", "dev", dev],
                                      capture_output=True, text=True).stdout
                       for dev in ("a0", "b0")]}
    bandwidth.clear_bandwidth("b0")
    out["cleared"] = bandwidth.read_bandwidth("b0")
    return out


@real
@pytest.mark.parametrize("hierarchical", [False, True])
def test_netlink_layout_equals_tc_running_libvirts_commands(hierarchical):
    shaping_only = Bandwidth(inbound=RATES.inbound)      # the transmit side: htb
    facts = run_in_new_netns(_side_by_side, shaping_only, hierarchical)
    assert facts["ours"]["classes"] == facts["theirs"]["classes"]
    assert facts["tc_text"][0].replace("a0", "X") == facts["tc_text"][1].replace("b0", "X")
    leaf = facts["ours"]["classes"]["1:2" if hierarchical else "1:1"]
    assert (leaf["rate"], leaf["ceil"], leaf["quantum"]) == (1_000_000, 5_000_000, 85)
    kinds = [q[0] for q in facts["ours"]["qdiscs"]]
    assert kinds[0] == "htb"
    # the sfq leaf and fw filter are left out only where the kernel lacks them
    assert set(facts["skipped"]) <= {"sfq", "fw"}
    assert ("sfq" in facts["skipped"]) == (("sfq", 0) not in facts["ran"])
    assert [q[0] for q in facts["cleared"]["qdiscs"]] in (["noqueue"], [])
    assert facts["cleared"]["classes"] == {}


def _police(rates: Bandwidth) -> dict:
    from pyvirt.network import bandwidth
    _veth("c0")
    police = tc.bandwidth_plan("c0", rates)[-1]
    has_police = _kernel_has(police, "c0")
    try:
        bandwidth.set_bandwidth("c0", rates)
        failure = None
    except libvirtError as err:
        failure = (err.get_error_code(), str(err))
    return {"has_police": has_police, "failure": failure,
            "after": bandwidth.read_bandwidth("c0")}


@real
def test_outbound_policing_or_a_clear_error_and_nothing_left():
    facts = run_in_new_netns(_police, RATES)
    if facts["has_police"]:
        assert facts["failure"] is None
        assert "ingress" in [q[0] for q in facts["after"]["qdiscs"]]
    else:     # this kernel: no CONFIG_NET_ACT_POLICE; libvirt's tc fails the same step
        code, message = facts["failure"]
        assert code == 1 and "CONFIG_NET_ACT_POLICE" in message
        assert "police rate 128kbps burst 256kb" in message
        assert facts["after"]["classes"] == {}
        assert {q[0] for q in facts["after"]["qdiscs"]} <= {"noqueue"}


def _missing_link() -> str:
    from pyvirt.network import bandwidth
    try:
        bandwidth.set_bandwidth("nosuch0", RATES)
    except libvirtError as err:
        return str(err)
    return ""


@real
def test_missing_link_is_an_error():
    assert "nosuch0" in run_in_new_netns(_missing_link)


# --- floor: a NIC's guaranteed class on the bridge ------------------------------------------
NET = Bandwidth(inbound=Rate(average=1000, peak=2000))


def test_floor_plans_are_libvirts_command_lines():
    plug = [" ".join(s.argv) for s in
            tc.floor_plug_plan("virbr0", NET, "52:54:00:00:10:01", Rate(floor=100), 3)]
    assert plug == [
        "tc class add dev virbr0 parent 1:1 classid 1:3 htb rate 100kbps ceil 2000kbps "
        "quantum 1",
        "tc qdisc add dev virbr0 parent 1:3 handle 3: sfq perturb 10",
        "tc filter add dev virbr0 protocol ip prio 2 handle 800::803 u32 match u16 0x0800 "
        "0xffff at -2 match u32 0x00001001 0xffffffff at -12 match u16 0x5254 0xffff at -14 "
        "flowid 1:3",
    ]
    assert " ".join(tc.floor_rate_step("virbr0", NET, 1900).argv) == \
        "tc class change dev virbr0 classid 1:2 htb rate 1900kbps ceil 2000kbps quantum 85"
    assert [" ".join(s.argv) for s in tc.floor_unplug_plan("virbr0", 12)] == [
        "tc qdisc del dev virbr0 parent 1:c handle c:",
        "tc filter del dev virbr0 prio 2 handle 800::812 u32",
        "tc class del dev virbr0 classid 1:c"]
    assert tc.u32_handle(3) == 0x80000803 and tc.u32_handle(12) == 0x80000812
    assert tc.floor_check(NET, 2000) is None and tc.floor_check(NET, 2001) == (2000, "peak")
    assert tc.floor_check(Bandwidth(inbound=Rate(average=10)), 11) == (10, "average")
    assert tc.floor_free_rate(NET, 300) == 1700


def _floor_side_by_side() -> dict:
    """Network layout + one floor class, then its removal: libvirt's argv through tc
    on a0, ours over netlink on b0; ``tc -d`` shows classes and filters of both."""
    from pyvirt.network import bandwidth
    _veth("a0")
    _veth("b0")
    skipped = set(bandwidth.set_bandwidth("b0", NET, hierarchical=True))
    bandwidth.plug_floor("b0", NET, "52:54:00:00:10:01", Rate(floor=100), 3)
    bandwidth.update_floor_rate("b0", NET, 1900)
    steps = (tc.bandwidth_plan("a0", NET, hierarchical=True)
             + tc.floor_plug_plan("a0", NET, "52:54:00:00:10:01", Rate(floor=100), 3)
             + [tc.floor_rate_step("a0", NET, 1900)])
    for step in steps:
        if step.feature not in skipped:
            subprocess.run(step.argv, check=True, capture_output=True)

    def shown() -> list[str]:
        return [subprocess.run(f"tc -d class show dev {dev}; tc -d filter show dev {dev}",
                               shell=True, capture_output=True, text=True
                               ).stdout.replace(dev, "DEV") for dev in ("a0", "b0")]
    plugged = shown()
    bandwidth.unplug_floor("b0", 3)
    for step in tc.floor_unplug_plan("a0", 3):
        subprocess.run(step.argv, capture_output=True)
    return {"plugged": plugged, "unplugged": shown(),
            "classes": bandwidth.read_bandwidth("b0")["classes"]}


@real
def test_floor_over_netlink_equals_tc_running_libvirts_commands():
    facts = run_in_new_netns(_floor_side_by_side)
    ours, theirs = facts["plugged"][1], facts["plugged"][0]
    assert ours == theirs
    assert "class htb 1:3 parent 1:1" in ours and "*flowid 1:3" in ours
    assert "match 00001001/ffffffff at -12" in ours
    assert facts["unplugged"][1] == facts["unplugged"][0]
    assert "1:3" not in facts["unplugged"][1]
    assert sorted(facts["classes"]) == ["1:1", "1:2"]
    assert facts["classes"]["1:2"]["rate"] == 1_900_000
