"""QEMU in its own mount namespace with a private /dev (real TCG guests, as root).

Checked from the kernel's side: the guest's ``/proc/PID/ns/mnt`` differs from
ours; ``/proc/PID/root/dev`` holds only the allowed nodes (and the host's pts
and shm bound in); the guest boots to its marker, a hot-plugged block device
(a loop device) appears as a node inside its /dev and leaves at detach, while
the host's /dev never changes; a hot-unplugged file disk gets its owner back at
once. ``namespaces = []`` in qemu.conf runs QEMU in our own namespace.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

import pyvirt as libvirt
from pyvirt.security import acl
from test_qemu_isolation import (  # noqa: F401  (guest, roots, tmp_path are fixtures)
    UID_A, Root, domain_xml, guest, qemu_img, qemu_pid, roots, text_of, tmp_path, wait_for,
)

LOSETUP = shutil.which("losetup")
BASE = {"null", "zero", "full", "random", "urandom", "ptmx", "pts", "shm", "mqueue",
        "hugepages"}


def boot(root: Root, guest: dict, name: str, disk: Path, extra: str = "") -> libvirt.virDomain:
    qemu_img("create", "-q", "-f", "qcow2", str(disk), "16M")
    console = root.path / f"{name}.console"
    dom = root.conn.createXML(domain_xml(guest, name, disk, console, extra), 0)
    wait_for(lambda: "PYVIRT-GUEST-READY" in text_of(console), timeout=180,
             what="the guest's marker")
    return dom


@pytest.fixture
def loop_device(tmp_path: Path):
    """A 4 MiB file behind a loop device (removed afterwards)."""
    if LOSETUP is None:
        pytest.skip("losetup (util-linux) is not installed")
    backing = tmp_path / "loop.img"
    backing.write_bytes(b"\0" * (4 << 20))
    made = subprocess.run([LOSETUP, "--find", "--show", str(backing)], capture_output=True,
                          text=True)
    if made.returncode != 0:
        pytest.skip(f"no loop device: {made.stderr.strip()}")
    dev = made.stdout.strip()
    yield Path(dev)
    subprocess.run([LOSETUP, "-d", dev], capture_output=True)


def test_qemu_has_its_own_mount_namespace_and_a_private_dev(roots, tmp_path: Path, guest,
                                                           loop_device: Path) -> None:
    tmp_path.chmod(0o700)
    root = roots("ns", UID_A)
    host_dev_before = sorted(os.listdir("/dev"))
    dom = boot(root, guest, "ns", root.path / "ns.qcow2")
    pid = qemu_pid(root, "ns")

    assert os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
    inside = Path(f"/proc/{pid}/root/dev")
    listed = set(os.listdir(inside))
    assert {"null", "zero", "full", "random", "urandom", "ptmx", "pts"} <= listed
    assert listed <= BASE, listed - BASE
    assert "kvm" not in listed and "net" not in listed and "vda" not in listed
    assert stat.S_ISCHR((inside / "null").stat().st_mode)
    assert (inside / "null").stat().st_rdev == os.stat("/dev/null").st_rdev
    # the host's pty namespace is the guest's: a pty it opens shows on the host
    assert sorted(os.listdir(inside / "pts")) == sorted(os.listdir("/dev/pts")) or \
        os.stat(inside / "pts").st_dev == os.stat("/dev/pts").st_dev

    # hot-plug of a block device: its node appears inside, owned by the guest
    rdev = loop_device.stat().st_rdev
    dom.attachDeviceFlags(f"<disk type='block' device='disk'><driver name='qemu' type='raw'/>"
                          f"<source dev='{loop_device}'/><target dev='vdb' bus='virtio'/>"
                          "</disk>", libvirt.VIR_DOMAIN_AFFECT_LIVE)
    node = inside / loop_device.name
    assert stat.S_ISBLK(node.stat().st_mode) and node.stat().st_rdev == rdev
    assert node.stat().st_uid == UID_A
    assert "vdb" in dom.XMLDesc()
    dom.detachDeviceFlags(f"<disk type='block' device='disk'><source dev='{loop_device}'/>"
                          "<target dev='vdb' bus='virtio'/></disk>",
                          libvirt.VIR_DOMAIN_AFFECT_LIVE)
    wait_for(lambda: "vdb" not in dom.XMLDesc(), what="the unplug")
    assert not node.exists()
    assert loop_device.stat().st_uid == 0          # the host node's owner is back

    # a hot-plugged file disk needs no node; its owner comes back at detach
    hot = root.path / "hot.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(hot), "8M")
    hot.chmod(0o644)
    dom.attachDeviceFlags(f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                          f"<source file='{hot}'/><target dev='vdc' bus='virtio'/></disk>",
                          libvirt.VIR_DOMAIN_AFFECT_LIVE)
    assert (hot.stat().st_uid, stat.S_IMODE(hot.stat().st_mode)) == (UID_A, 0o600)
    dom.detachDeviceFlags(f"<disk type='file' device='disk'><source file='{hot}'/>"
                          "<target dev='vdc' bus='virtio'/></disk>",
                          libvirt.VIR_DOMAIN_AFFECT_LIVE)
    wait_for(lambda: "vdc" not in dom.XMLDesc(), what="the unplug")
    assert (hot.stat().st_uid, stat.S_IMODE(hot.stat().st_mode)) == (0, 0o644)
    assert dom.isActive() == 1

    assert sorted(os.listdir("/dev")) == host_dev_before   # nothing leaked to the host
    dom.destroy()
    assert not (root.path / "run" / "qemu" / "ns.dev").exists()


def test_a_block_disk_given_at_start_is_in_the_private_dev(roots, tmp_path: Path, guest,
                                                          loop_device: Path) -> None:
    tmp_path.chmod(0o700)
    root = roots("blk", UID_A)
    block = (f"<disk type='block' device='disk'><driver name='qemu' type='raw'/>"
             f"<source dev='{loop_device}'/><target dev='vdb' bus='virtio'/></disk>")
    dom = boot(root, guest, "blk", root.path / "blk.qcow2", block)
    pid = qemu_pid(root, "blk")
    node = Path(f"/proc/{pid}/root/dev") / loop_device.name
    assert stat.S_ISBLK(node.stat().st_mode)
    assert node.stat().st_rdev == loop_device.stat().st_rdev
    assert node.stat().st_uid == UID_A == loop_device.stat().st_uid
    assert stat.S_IMODE(node.stat().st_mode) == 0o600
    blocks = dom.blockStats("vdb")
    assert len(blocks) == 5                      # QEMU opened it through the private node
    dom.destroy()
    assert loop_device.stat().st_uid == 0


def test_a_hot_unplugged_read_only_disk_loses_its_acl_at_once(roots, tmp_path: Path,
                                                             guest) -> None:
    tmp_path.chmod(0o700)
    root = roots("ro", UID_A)
    dom = boot(root, guest, "ro", root.path / "ro.qcow2")
    shared = root.path / "shared.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(shared), "8M")
    shared.chmod(0o600)
    xml = (f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
           f"<source file='{shared}'/><target dev='vdb' bus='virtio'/><readonly/></disk>")
    dom.attachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    assert (acl.USER, acl.READ, UID_A) in acl.read(str(shared))
    dom.detachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    wait_for(lambda: "vdb" not in dom.XMLDesc(), what="the unplug")
    assert all(entry[2] != UID_A for entry in acl.read(str(shared)))
    assert (shared.stat().st_uid, stat.S_IMODE(shared.stat().st_mode)) == (0, 0o600)
    dom.destroy()


def test_namespaces_off_runs_qemu_in_ours(tmp_path: Path, guest) -> None:
    base = tmp_path / "off"
    (base / "etc").mkdir(parents=True)
    root = Root.__new__(Root)
    root.path = base
    (base / "etc" / "qemu.conf").write_text(
        f'user = "+{UID_A}"\ngroup = "+{UID_A}"\nnamespaces = []\n')
    root.conn = libvirt.open(f"qemu:///embed?root={base}")
    try:
        tmp_path.chmod(0o700)
        dom = boot(root, guest, "off", base / "off.qcow2")
        pid = qemu_pid(root, "off")
        assert os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt")
        dom.destroy()
    finally:
        root.close()
