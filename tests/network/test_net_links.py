"""Bridges and taps over netlink, each test inside its own network namespace."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from pyvirt.errors import VIR_ERR_SYSTEM_ERROR, libvirtError
from pyvirt.network import bridge, tap
from pyvirt.network.netns import ChildFailed, netns_supported, run_in_new_netns

needs_netns = pytest.mark.skipif(not netns_supported(), reason="needs root and network "
                                 "namespaces")


def test_tap_names_and_macs():
    assert tap.tap_mac("52:54:00:AA:bb:cc") == "fe:54:00:aa:bb:cc"
    assert tap.tap_name_template(None) == "vnet%d"
    assert tap.tap_name_template("vnet5") == "vnet%d"
    assert tap.tap_name_template("mytap0") == "mytap0"


def _bridge_lifecycle():
    bridge.create_bridge("virbr7", mac="52:54:00:01:02:03", stp=True, delay=0, mtu=1400)
    bridge.add_address("virbr7", "10.7.0.1", 24)
    bridge.set_link_up("virbr7")
    facts = {"kind": bridge.link_kind("virbr7"), "mac": bridge.link_mac("virbr7"),
             "routes": [(str(n), d) for n, d in bridge.link_routes()]}
    try:
        bridge.create_bridge("virbr7")
    except libvirtError as err:
        facts["dup"] = (err.get_error_code(), str(err))
    facts["stp"] = bridge.bridge_settings("virbr7")["stp"]
    facts["deleted"] = (bridge.delete_link("virbr7"), bridge.delete_link("virbr7"))
    facts["left"] = sorted(bridge.link_names())
    return facts


@needs_netns
def test_bridge_create_address_and_delete():
    facts = run_in_new_netns(_bridge_lifecycle)
    assert facts["kind"] == "bridge" and facts["mac"] == "52:54:00:01:02:03"
    assert ("10.7.0.0/24", "virbr7") in facts["routes"]
    assert facts["dup"] == (VIR_ERR_SYSTEM_ERROR,
                            "error creating bridge interface virbr7: File exists")
    assert facts["stp"] == 1
    assert facts["deleted"] == (True, False) and facts["left"] == ["lo"]


def _taps():
    bridge.create_bridge("br0", stp=False)
    name, fd = tap.create_tap_in_bridge("br0", "52:54:00:aa:bb:cc", None, want_fd=True)
    held = {"name": name, "master": bridge.link_master(name), "mac": bridge.link_mac(name),
            "ports": bridge.bridge_ports("br0")}
    os.close(fd)
    held["gone_with_fd"] = not bridge.link_exists(name)
    pname, pfd = tap.create_tap_in_bridge("br0", "52:54:00:aa:bb:cd", "guesttap",
                                          want_fd=False)
    held["persistent"] = (pname, pfd, bridge.link_exists(pname))
    bridge.set_port_isolated(pname)
    held["isolated"] = "isolated on" in subprocess.run(
        ["bridge", "-d", "link", "show", "dev", pname], capture_output=True, text=True).stdout
    bridge.delete_link(pname)
    try:
        tap.create_tap_in_bridge("nobridge", "52:54:00:aa:bb:ce", "t1", want_fd=False)
    except libvirtError as err:
        held["error"] = str(err)
    held["stats"] = tap.interface_stats("br0", swapped=False)
    try:
        tap.interface_stats("nosuch")
    except libvirtError as err:
        held["stats_error"] = str(err)
    held["left"] = sorted(bridge.link_names())
    return held


@needs_netns
def test_tap_on_bridge_with_fd_and_persistent():
    held = run_in_new_netns(_taps)
    assert held["name"] == "vnet0" and held["master"] == "br0"
    assert held["mac"] == "fe:54:00:aa:bb:cc" and held["ports"] == ["vnet0"]
    assert held["gone_with_fd"]
    assert held["persistent"] == ("guesttap", None, True) and held["isolated"]
    assert held["error"] == "Unable to add bridge nobridge port t1: No such device"
    assert held["left"] == ["br0", "lo"]
    assert len(held["stats"]) == 8 and all(isinstance(x, int) for x in held["stats"])
    assert held["stats_error"] == "internal error: /proc/net/dev: Interface not found"


@needs_netns
def test_child_failure_is_reported():
    with pytest.raises(ChildFailed, match="ZeroDivisionError"):
        run_in_new_netns(lambda: 1 / 0)


def _leave_a_process():
    proc = subprocess.Popen(["sleep", "300"])
    return proc.pid


@needs_netns
def test_nothing_outlives_the_namespace_child():
    pid = run_in_new_netns(_leave_a_process)
    for _ in range(300):                       # killed, then reaped by whoever adopts it
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split()[2] == "Z":
                    break
        except OSError:
            break
        time.sleep(0.01)
    else:
        raise AssertionError("the child's process is still running")
