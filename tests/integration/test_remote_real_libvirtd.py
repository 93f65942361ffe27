"""pyvirt's remote driver against the REAL libvirtd 9.0 (Debian's libvirt-daemon,
started here on a socket in a tmp dir and stopped by its pid): the lead's
libvirt-python scenario gives the observations the real binding makes in-process,
so the driver's wire shapes are libvirt's, not just pyvirtd's."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from process_fixture import stop_process
from scenario_through import ThroughURI, assert_same_steps, scenario_module

import pyvirt
from pyvirt.api._registry import load_drivers
from pyvirt.drivers import base
from pyvirt.drivers.remote import RemoteDriver

LIBVIRTD = "/usr/sbin/libvirtd"
pytestmark = pytest.mark.skipif(not os.path.exists(LIBVIRTD) or os.geteuid() != 0,
                                reason="needs Debian's libvirt-daemon, as root")


@pytest.fixture(scope="module")
def libvirtd_uri(tmp_path_factory):
    root = tmp_path_factory.mktemp("libvirtd")
    (root / "run").mkdir()
    (root / "libvirtd.conf").write_text(f'unix_sock_dir = "{root}/run"\nlisten_tls = 0\n')
    proc = subprocess.Popen([LIBVIRTD, "-f", str(root / "libvirtd.conf"), "-p",
                             str(root / "libvirtd.pid")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    socket_path = root / "run" / "libvirt-sock"
    load_drivers()
    added = not any(d.name == "remote" for d in base.registered_drivers())
    if added:
        base.register_driver(RemoteDriver())
    try:
        uri = f"test+unix:///default?socket={socket_path}"
        deadline = time.monotonic() + 30
        while True:
            try:
                pyvirt.open(uri).close()
                break
            except pyvirt.libvirtError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.02)
        yield uri
    finally:
        stop_process(proc, grace=15)
        if added:
            base._REGISTRY[:] = [d for d in base._REGISTRY if d.name != "remote"]


@pytest.fixture(scope="module")
def real_libvirt():
    import libvirt
    libvirt.registerErrorHandler(lambda *_: None, None)
    return libvirt


def test_scenario_through_real_libvirtd_matches_real_binding(libvirtd_uri, real_libvirt):
    module = scenario_module()
    want = module.scenario(real_libvirt)
    got = module.scenario(ThroughURI(libvirtd_uri))
    assert got[0][2] == libvirtd_uri
    assert_same_steps(got, want)


def test_events_through_real_libvirtd(libvirtd_uri, real_libvirt):
    module = scenario_module()
    assert module.event_scenario(ThroughURI(libvirtd_uri)) == module.event_scenario(real_libvirt)
