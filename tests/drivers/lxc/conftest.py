"""Fixtures for real containers: the busybox rootfs, an embedded lxc:/// connection,
libvirt's default event loop."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lxc_helpers import REPO, ROOTFS, can_run_containers


@pytest.fixture(scope="session")
def rootfs() -> Path:
    why = can_run_containers()
    if why:
        pytest.skip(why)
    subprocess.run([str(REPO / "scripts" / "build-test-rootfs.sh"), str(ROOTFS)], check=True,
                   capture_output=True)
    return ROOTFS


@pytest.fixture
def lxc_root(tmp_path):
    return tmp_path / "lxcroot"


@pytest.fixture
def conn(rootfs, lxc_root):
    import pyvirt
    from pyvirt.drivers.lxc import register
    from pyvirt.drivers.lxc.state import forget_state_for_tests
    from pyvirt.drivers.lxc.state_dir import dirs_for_root

    register()
    connection = pyvirt.open(f"lxc:///embed?root={lxc_root}")
    yield connection
    try:
        for dom in connection.listAllDomains(1):      # active: leave nothing running
            try:
                dom.destroy()
            except pyvirt.libvirtError:
                pass
    finally:
        connection.close()
        forget_state_for_tests(dirs_for_root(lxc_root))


@pytest.fixture
def event_loop():
    """libvirt's default event loop, run by a thread for one test (a 50 ms timer
    makes each iteration return, so the thread stops when the test ends)."""
    import threading

    import pyvirt

    pyvirt.virEventRegisterDefaultImpl()
    stop = threading.Event()
    timer = pyvirt.virEventAddTimeout(50, lambda *_args: None, None)

    def loop() -> None:
        while not stop.is_set():
            pyvirt.virEventRunDefaultImpl()

    thread = threading.Thread(target=loop, name="test-event-loop", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(5)
    pyvirt.virEventRemoveTimeout(timer)
