"""pyvirt's remote driver against the REAL libvirtd 9.0 (Debian's libvirt-daemon,
started here on a socket in a tmp dir and stopped by its pid): the lead's
libvirt-python scenario gives the observations the real binding makes in-process,
so the driver's wire shapes are libvirt's, not just pyvirtd's."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess
import time
import types

import pytest

import pyvirt
from pyvirt.api._registry import load_drivers
from pyvirt.drivers import base
from pyvirt.drivers.remote import RemoteDriver

LIBVIRTD = "/usr/sbin/libvirtd"
HERE = pathlib.Path(__file__).parent
pytestmark = pytest.mark.skipif(not os.path.exists(LIBVIRTD) or os.geteuid() != 0,
                                reason="needs Debian's libvirt-daemon, as root")


def _scenario_module():
    spec = importlib.util.spec_from_file_location(
        "libvirt_python_scenario", HERE / "test_libvirt_python_scenario.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Through(types.ModuleType):
    """``pyvirt`` with test:///default opened through ``uri``."""

    def __init__(self, uri: str):
        super().__init__("pyvirt_through")
        self._uri = uri

    def __getattr__(self, name: str):
        return getattr(pyvirt, name)

    def open(self, name=None):
        return pyvirt.open(self._uri if name == "test:///default" else name)

    def openReadOnly(self, name=None):  # noqa: N802
        return pyvirt.openReadOnly(self._uri if name == "test:///default" else name)


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
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if added:
            base._REGISTRY[:] = [d for d in base._REGISTRY if d.name != "remote"]


@pytest.fixture(scope="module")
def real_libvirt():
    import libvirt
    libvirt.registerErrorHandler(lambda *_: None, None)
    return libvirt


def test_scenario_through_real_libvirtd_matches_real_binding(libvirtd_uri, real_libvirt):
    module = _scenario_module()
    want = module.scenario(real_libvirt)
    got = module.scenario(_Through(libvirtd_uri))
    assert got[0][2] == libvirtd_uri
    strip = [(s[0], s[1], *s[3:]) if s[0] == "type" else s for s in got]
    expect = [(s[0], s[1], *s[3:]) if s[0] == "type" else s for s in want]
    for have, should in zip(strip, expect):
        assert have == should, f"step {should[0]!r}"
    assert len(got) == len(want)


def test_events_through_real_libvirtd(libvirtd_uri, real_libvirt):
    module = _scenario_module()
    assert module.event_scenario(_Through(libvirtd_uri)) == module.event_scenario(real_libvirt)
