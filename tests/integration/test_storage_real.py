"""The storage driver on this host for real: loop devices, mount, mkfs, LVM, QEMU.

Each test cleans up what it made (unmounts, detaches loop devices, removes its
volume group) even when it fails. A test this kernel cannot run is skipped with
the exact kernel feature it lacks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

import pyvirt as libvirt
from pyvirt.drivers.storage import open_storage
from pyvirt.storage import lvm, mounts

ROOT = Path(__file__).resolve().parents[2]
MiB = 1 << 20
IS_ROOT = os.geteuid() == 0
QEMU = shutil.which("qemu-system-x86_64")


def need(condition: bool, reason: str) -> None:
    if not condition:
        pytest.skip(reason)


@pytest.fixture
def drv(tmp_path: Path) -> Iterator[Any]:
    driver = open_storage(tmp_path / "etc", tmp_path / "run")
    yield driver
    for ref in driver.connect_list_all_storage_pools(0):
        try:
            if driver.storage_pool_is_active(ref):
                driver.storage_pool_destroy(ref)
        except libvirt.libvirtError:
            pass
    driver.connect_close()


class LoopDevices:
    """Loop devices over sparse files; all detached at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.devices: list[str] = []

    def make(self, size: int) -> str:
        image = self.folder / f"loop{len(self.devices)}.img"
        with open(image, "wb") as handle:
            handle.truncate(size)
        device = subprocess.run(["losetup", "-f", "--show", str(image)], check=True,
                                capture_output=True, text=True).stdout.strip()
        self.devices.append(device)
        return device

    def detach(self) -> None:
        for device in self.devices:
            subprocess.run(["losetup", "-d", device], capture_output=True)


@pytest.fixture
def loops(tmp_path: Path) -> Iterator[LoopDevices]:
    need(IS_ROOT, "loop devices need root")
    need(Path("/dev/loop-control").exists(), "loop device support (/dev/loop-control) absent")
    made = LoopDevices(tmp_path)
    try:
        yield made
    finally:
        made.detach()


# --- dir pool: a thin clone boots a real guest ---------------------------------------------
@pytest.fixture(scope="module")
def guest() -> dict[str, str]:
    need(QEMU is not None, "qemu-system-x86_64 is not installed")
    try:
        out = subprocess.run([str(ROOT / "scripts" / "build-test-guest.sh")], check=True,
                             capture_output=True, text=True, timeout=300).stdout
    except (subprocess.SubprocessError, OSError) as err:
        pytest.skip(f"the test guest cannot be built here: {err}")
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


class Console:
    """QEMU's serial port on stdio: lines read in a thread, waits without polling."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.text = ""
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(lambda: self.proc.stdout.read1(4096), b""):
            with self.changed:
                self.text += raw.decode(errors="replace")
                self.changed.notify_all()

    def wait_for(self, marker: str, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: marker in self.text, timeout)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()


def test_thin_clone_on_a_backing_store_boots_a_guest(drv: Any, tmp_path: Path,
                                                     guest: dict[str, str]) -> None:
    ref = drv.storage_pool_create_xml(
        f"<pool type='dir'><name>boot</name><target><path>{tmp_path}/pool</path></target>"
        "</pool>", libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
    drv.storage_vol_create_xml(ref, "<volume><name>base.img</name><capacity unit='M'>32"
                                    "</capacity><allocation>0</allocation></volume>")
    with open(tmp_path / "pool" / "base.img", "r+b") as handle:
        handle.write(b"PYVIRT-BASE-MARK")
    thin = drv.storage_vol_create_xml(
        ref, f"<volume><name>thin.qcow2</name><capacity unit='M'>64</capacity><target>"
             f"<format type='qcow2'/></target><backingStore><path>{tmp_path}/pool/base.img"
             "</path><format type='raw'/></backingStore></volume>")
    path = drv.storage_vol_get_path(thin)
    argv = [QEMU, "-machine", "pc,accel=tcg", "-m", "128", "-display", "none",
            "-no-user-config", "-nodefaults", "-serial", "stdio", "-no-reboot",
            "-kernel", guest["kernel"], "-initrd", guest["initrd"],
            "-append", "console=ttyS0 quiet",
            "-blockdev", f"driver=file,filename={path},node-name=f0",
            "-blockdev", "driver=qcow2,file=f0,node-name=d0",
            "-device", "virtio-blk-pci,drive=d0"]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        console = Console(proc)
        assert console.wait_for("PYVIRT-GUEST-READY", 30), console.text[-2000:]
        assert "PYVIRT-BLOCK vda 131072" in console.text        # 64 MiB from the overlay
        # markers computed by the guest's shell, so the tty's echo of the command cannot match
        console.send("head -c 16 /dev/vda; echo; echo PYVIRT-READ-$((40+2))")
        assert console.wait_for("PYVIRT-READ-42", 10), console.text[-1000:]
        assert "PYVIRT-BASE-MARK" in console.text.split("PYVIRT-READ-$", 1)[-1]
        console.send("echo PYVIRT-GUEST-WROTE > /dev/vda; sync; echo PYVIRT-SYNC-$((6*7))")
        assert console.wait_for("PYVIRT-SYNC-42", 10), console.text[-1000:]
        console.send("poweroff -f")                  # QEMU exits and flushes the overlay
        assert proc.wait(timeout=15) == 0
    finally:
        proc.kill()
        proc.wait()
    # the guest's write went to the overlay, the backing file is untouched
    assert (tmp_path / "pool" / "base.img").read_bytes()[:16] == b"PYVIRT-BASE-MARK"
    flat = tmp_path / "flat.raw"
    subprocess.run(["qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", path, str(flat)],
                   check=True)
    assert flat.read_bytes()[:18] == b"PYVIRT-GUEST-WROTE"
    info = drv.storage_vol_get_info(thin)
    assert info[1] == 64 * MiB


# --- dir pool: a 100 MiB sparse image up and down -------------------------------------------
class _ApiDriver:
    """Test-only: ``storagereal:///ROOT`` serves open_storage(ROOT/etc, ROOT/run) to the API."""

    name = "storagereal"

    def open(self, uri: Any, flags: int, readonly: bool) -> Any:
        if getattr(uri, "driver", None) != "storagereal":
            return None
        from pyvirt.drivers.base import DriverConnection
        root = Path(uri.path)
        return DriverConnection(str(uri), storage=open_storage(root / "etc", root / "run"))


def test_upload_and_download_a_100_mib_sparse_image(tmp_path: Path) -> None:
    from pyvirt.api import _registry
    from pyvirt.drivers.base import register_driver
    _registry.load_drivers()
    register_driver(_ApiDriver())
    conn = libvirt.open(f"storagereal://{tmp_path}")
    try:
        pool = conn.storagePoolCreateXML(
            f"<pool type='dir'><name>up</name><target><path>{tmp_path}/pool</path></target>"
            "</pool>", libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
        vol = pool.createXML("<volume><name>disk.img</name><capacity unit='M'>100</capacity>"
                             "<allocation>0</allocation></volume>")
        source = tmp_path / "sparse.img"              # 100 MiB, 3 MiB of it data
        with open(source, "wb") as handle:
            handle.truncate(100 * MiB)
            for offset in (0, 50 * MiB, 99 * MiB):
                handle.seek(offset)
                handle.write(os.urandom(MiB))
        stream = conn.newStream()
        vol.upload(stream, 0, 0)
        with open(source, "rb") as handle:
            stream.sendAll(lambda _s, n, _o: handle.read(n), None)
        stream.finish()
        target = Path(vol.path())
        assert target.stat().st_size == 100 * MiB
        assert target.stat().st_blocks * 512 < 8 * MiB          # the holes stayed holes
        digest = hashlib.sha256()
        down = conn.newStream()
        vol.download(down, 0, 0)
        down.recvAll(lambda _s, data, _o: digest.update(data), None)
        down.finish()
        assert digest.hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()
        assert [f.name for f in target.parent.iterdir()] == ["disk.img"]
    finally:
        conn.close()


# --- fs pool ---------------------------------------------------------------------------------
def test_fs_pool_mounts_and_unmounts_an_image(drv: Any, tmp_path: Path) -> None:
    need(IS_ROOT, "mounting needs root")
    need("ext4" in mounts.kernel_filesystems(), "ext4 is not in /proc/filesystems")
    need(Path("/dev/loop-control").exists(), "loop device support (/dev/loop-control) absent")
    image = tmp_path / "fs.img"
    with open(image, "wb") as handle:
        handle.truncate(64 * MiB)
    target = tmp_path / "mnt"
    ref = drv.storage_pool_define_xml(
        f"<pool type='fs'><name>fsp</name><source><device path='{image}'/>"
        f"<format type='ext4'/></source><target><path>{target}</path></target></pool>")
    try:
        drv.storage_pool_build(ref, libvirt.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE)
        with pytest.raises(libvirt.libvirtError) as err:
            drv.storage_pool_build(ref, libvirt.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE)
        assert err.value.get_error_code() == libvirt.VIR_ERR_STORAGE_POOL_BUILT
        assert str(err.value) == f"Storage pool already built: Device '{image}' already " \
                                 "formatted using 'ext4'"
        drv.storage_pool_create(ref)
        mounted = mounts.mount_at(str(target))
        assert mounted is not None and mounted.fstype == "ext4"
        state, capacity, allocation, available = drv.storage_pool_get_info(ref)
        assert state == libvirt.VIR_STORAGE_POOL_RUNNING
        assert 40 * MiB < capacity <= 64 * MiB and capacity == allocation + available
        vol = drv.storage_vol_create_xml(ref, "<volume><name>v.qcow2</name><capacity>1048576"
                                              "</capacity><target><format type='qcow2'/>"
                                              "</target></volume>")
        assert drv.storage_vol_get_info(vol)[1] == MiB
        # a new process (a daemon restart) takes the mounted pool back
        drv.connect_close()
        drv = open_storage(tmp_path / "etc", tmp_path / "run")
        ref = drv.storage_pool_lookup_by_name("fsp")
        assert drv.storage_pool_is_active(ref)
        assert "v.qcow2" in [v.name for v in drv.storage_pool_list_all_volumes(ref)]
        drv.storage_pool_destroy(ref)
        assert mounts.mount_at(str(target)) is None
        assert not (target / "v.qcow2").exists()             # it lives inside the image
        drv.storage_pool_create(ref)                           # mounted again: still there
        names = [v.name for v in drv.storage_pool_list_all_volumes(ref)]
        assert "v.qcow2" in names and "lost+found" in names
        drv.storage_pool_destroy(ref)
        drv.storage_pool_delete(ref)
        assert not target.exists()
    finally:
        if mounts.mount_at(str(target)) is not None:
            subprocess.run(["umount", str(target)], capture_output=True)
        drv.connect_close()


# --- logical pool ----------------------------------------------------------------------------
VG = "pyvirttestvg"


@pytest.fixture
def volume_group(loops: LoopDevices) -> Iterator[list[str]]:
    need(shutil.which("vgcreate") is not None, "LVM tools (apt package lvm2) not installed")
    devices = [loops.make(64 * MiB), loops.make(64 * MiB)]
    try:
        yield devices
    finally:
        activation = lvm.device_mapper_available()
        subprocess.run(lvm.vgremove_argv(VG, activation), capture_output=True)
        for device in devices:
            subprocess.run(lvm.pvremove_argv(device, activation), capture_output=True)


def logical_xml(devices: list[str]) -> str:
    source = "".join(f"<device path='{d}'/>" for d in devices)
    return (f"<pool type='logical'><name>{VG}</name><source>{source}<name>{VG}</name>"
            f"<format type='lvm2'/></source><target><path>/dev/{VG}</path></target></pool>")


def test_logical_pool_builds_and_manages_volumes(drv: Any, volume_group: list[str]) -> None:
    ref = drv.storage_pool_define_xml(logical_xml(volume_group))
    drv.storage_pool_build(ref, 0)
    with pytest.raises(libvirt.libvirtError) as err:
        drv.storage_pool_build(ref, libvirt.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE)
    assert err.value.get_error_code() == libvirt.VIR_ERR_STORAGE_POOL_BUILT
    assert str(err.value) == f"Storage pool already built: Device '{volume_group[0]}' " \
                             "already formatted using 'LVM2_member'"
    drv.storage_pool_create(ref)
    state, capacity, allocation, available = drv.storage_pool_get_info(ref)
    assert state == libvirt.VIR_STORAGE_POOL_RUNNING and allocation == 0
    assert 100 * MiB < capacity < 128 * MiB and available == capacity
    vol = drv.storage_vol_create_xml(ref, "<volume><name>lv1</name><capacity unit='M'>8"
                                          "</capacity></volume>")
    assert drv.storage_vol_get_info(vol) == [1, 8 * MiB, 8 * MiB]      # block volume
    assert drv.storage_vol_get_path(vol) == f"/dev/{VG}/lv1"
    assert [v.name for v in drv.storage_pool_list_all_volumes(ref)] == ["lv1"]
    assert drv.storage_vol_lookup_by_key(vol.key).name == "lv1"
    drv.storage_vol_resize(vol, 16 * MiB, 0)
    assert drv.storage_vol_get_info(vol)[1] == 16 * MiB
    assert drv.storage_pool_get_info(ref)[2] == 16 * MiB
    with pytest.raises(libvirt.libvirtError):
        drv.storage_vol_resize(vol, 8 * MiB, 0)                     # shrink needs the flag
    drv.storage_vol_resize(vol, 8 * MiB, libvirt.VIR_STORAGE_VOL_RESIZE_SHRINK)
    assert drv.storage_vol_get_info(vol)[1] == 8 * MiB
    drv.storage_vol_delete(vol, 0)
    assert drv.storage_pool_list_all_volumes(ref) == []
    sources = drv.connect_find_storage_pool_sources("logical", None, 0)
    assert f"<name>{VG}</name>" in sources
    assert all(f"<device path='{d}'/>" in sources for d in volume_group)
    drv.storage_pool_destroy(ref)
    drv.storage_pool_delete(ref, 0)
    assert subprocess.run(lvm.vgs_argv(VG, lvm.device_mapper_available()),
                          capture_output=True).returncode != 0


def test_logical_volume_data_needs_device_mapper(drv: Any, volume_group: list[str]) -> None:
    ref = drv.storage_pool_create_xml(logical_xml(volume_group),
                                      libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
    vol = drv.storage_vol_create_xml(ref, "<volume><name>lv</name><capacity unit='M'>4"
                                          "</capacity></volume>")
    if lvm.device_mapper_available():
        drv.storage_vol_wipe(vol, 0)
        with open(drv.storage_vol_get_path(vol), "rb") as handle:
            assert handle.read(4096) == bytes(4096)
    else:
        sparse = "<volume><name>thin</name><capacity unit='M'>32</capacity><allocation " \
                 "unit='M'>4</allocation></volume>"
        for call, args in ((drv.storage_vol_wipe, (vol, 0)),
                           (drv.storage_vol_create_xml, (ref, sparse))):
            with pytest.raises(libvirt.libvirtError) as err:
                call(*args)
            assert err.value.get_error_code() == libvirt.VIR_ERR_OPERATION_UNSUPPORTED
            assert "device-mapper (/dev/mapper/control) absent" in str(err.value)
    drv.storage_vol_delete(vol, 0)
    drv.storage_pool_destroy(ref)


def test_logical_volume_device_appears(drv: Any, volume_group: list[str]) -> None:
    need(lvm.device_mapper_available(),
         "device-mapper (/dev/mapper/control) absent: LV activation impossible")
    ref = drv.storage_pool_create_xml(logical_xml(volume_group),
                                      libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
    vol = drv.storage_vol_create_xml(ref, "<volume><name>lv</name><capacity unit='M'>4"
                                          "</capacity></volume>")
    assert Path(drv.storage_vol_get_path(vol)).exists()
    drv.storage_vol_delete(vol, 0)
    drv.storage_pool_destroy(ref)


def test_clone_from_a_dir_pool_into_a_logical_pool(drv: Any, volume_group: list[str],
                                                   tmp_path: Path) -> None:
    """lvcreate then qemu-img convert into the LV; without device-mapper the clone is
    refused before any LV is made (the copy itself is then skipped, naming it)."""
    need(shutil.which("qemu-img") is not None, "qemu-img (apt package qemu-utils) not installed")
    (tmp_path / "dirpool").mkdir()
    dir_ref = drv.storage_pool_create_xml(f"<pool type='dir'><name>src</name><target><path>"
                                          f"{tmp_path / 'dirpool'}</path></target></pool>", 0)
    src = drv.storage_vol_create_xml(dir_ref, "<volume><name>s.qcow2</name><capacity unit='M'>"
                                              "6</capacity><target><format type='qcow2'/>"
                                              "</target></volume>")
    lv_ref = drv.storage_pool_create_xml(logical_xml(volume_group),
                                         libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
    try:
        if not lvm.device_mapper_available():
            with pytest.raises(libvirt.libvirtError) as err:
                drv.storage_vol_create_xml_from(lv_ref, "<volume><name>c</name></volume>",
                                                src, 0)
            assert err.value.get_error_code() == libvirt.VIR_ERR_OPERATION_UNSUPPORTED
            assert "device-mapper (/dev/mapper/control) absent" in str(err.value)
            assert drv.storage_pool_list_all_volumes(lv_ref) == []
            pytest.skip("device-mapper (/dev/mapper/control) absent: LV activation "
                        "impossible, so no copy into an LV")
        vol = drv.storage_vol_create_xml_from(lv_ref, "<volume><name>c</name></volume>",
                                              src, 0)
        assert drv.storage_vol_get_info(vol)[1] >= 6 * MiB
        with open(drv.storage_vol_get_path(vol), "rb") as handle:
            assert handle.read(6 * MiB) == bytes(6 * MiB)     # an empty qcow2 reads as zeros
        drv.storage_vol_delete(vol, 0)
    finally:
        drv.storage_pool_destroy(lv_ref)
        drv.storage_pool_destroy(dir_ref)


# --- netfs pool -------------------------------------------------------------------------------
def test_netfs_reports_a_kernel_without_nfs(drv: Any, tmp_path: Path) -> None:
    from pyvirt.storage.netfs import nfs_module_available
    has_nfs = "nfs" in mounts.kernel_filesystems() or nfs_module_available()
    ref = drv.storage_pool_define_xml(
        f"<pool type='netfs'><name>n</name><source><host name='127.0.0.1'/>"
        f"<dir path='/export'/><format type='nfs'/></source><target>"
        f"<path>{tmp_path}/nfs</path></target></pool>")
    drv.storage_pool_build(ref, 0)
    assert (tmp_path / "nfs").is_dir()
    if has_nfs:
        pytest.skip("this kernel has NFS: mounting for real needs an NFS server on the host")
    with pytest.raises(libvirt.libvirtError) as err:
        drv.storage_pool_create(ref)
    assert err.value.get_error_code() == libvirt.VIR_ERR_OPERATION_UNSUPPORTED
    assert str(err.value) == ("Operation not supported: this kernel has no NFS client: 'nfs' "
                              "is not in /proc/filesystems and no nfs module can be loaded")
    assert not drv.storage_pool_is_active(ref)
    assert mounts.mount_at(str(tmp_path / "nfs")) is None
