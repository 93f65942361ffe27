"""/proc/mounts and /proc/filesystems parsing, mount/mkfs argv, the NFS kernel check."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirt.errors import VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_STORAGE, libvirtError
from pyvirt.storage import mounts, netfs

PROC_MOUNTS = """/dev/vda1 / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
/dev/loop3 /tmp/my\\040pool ext4 rw,relatime 0 0
/dev/loop4 /mnt/p ext4 rw 0 0
/dev/loop5 /mnt/p xfs rw 0 0
"""
PROC_FILESYSTEMS = "nodev\tsysfs\nnodev\tproc\n\text4\n\txfs\nnodev\toverlay\n"


def test_parse_mounts_unescapes_spaces() -> None:
    entries = mounts.parse_mounts(PROC_MOUNTS)
    assert entries[2] == mounts.MountEntry("/dev/loop3", "/tmp/my pool", "ext4", "rw,relatime")


def test_mount_at_answers_the_top_mount() -> None:
    entries = mounts.parse_mounts(PROC_MOUNTS)
    assert mounts.mount_at("/mnt/p", entries).fstype == "xfs"
    assert mounts.mount_at("/mnt/none", entries) is None


def test_parse_filesystems() -> None:
    assert mounts.parse_filesystems(PROC_FILESYSTEMS) == {"sysfs", "proc", "ext4", "xfs",
                                                          "overlay"}


def test_mount_argv() -> None:
    assert mounts.mount_argv("/img", "/mnt", "auto", ["loop"]) == \
        ["mount", "-o", "loop", "/img", "/mnt"]
    assert mounts.mount_argv("h:/e", "/mnt", "nfs", ["nodev", "nosuid"]) == \
        ["mount", "-t", "nfs", "-o", "nodev,nosuid", "h:/e", "/mnt"]
    assert mounts.umount_argv("/mnt") == ["umount", "/mnt"]


@pytest.mark.parametrize(("fmt", "argv"), [
    ("ext4", ["mkfs", "-t", "ext4", "-F", "/dev/x"]),
    ("auto", ["mkfs", "-t", "ext4", "-F", "/dev/x"]),
    ("xfs", ["mkfs", "-t", "xfs", "-f", "/dev/x"]),
    ("vfat", ["mkfs", "-t", "vfat", "/dev/x"]),
])
def test_mkfs_argv(fmt: str, argv: list[str]) -> None:
    assert mounts.mkfs_argv("/dev/x", fmt) == argv


def test_blkid_argv() -> None:
    assert mounts.blkid_argv("/d") == ["blkid", "-p", "-o", "value", "-s", "TYPE", "/d"]


def test_nfs_check_passes_with_nfs_in_the_kernel() -> None:
    netfs.check_kernel_nfs({"ext4", "nfs"}, module_available=False)
    netfs.check_kernel_nfs({"ext4"}, module_available=True)


def test_nfs_check_names_the_missing_kernel_feature() -> None:
    with pytest.raises(libvirtError) as err:
        netfs.check_kernel_nfs({"ext4", "xfs"}, module_available=False)
    assert err.value.get_error_code() == VIR_ERR_OPERATION_UNSUPPORTED
    assert err.value.get_error_domain() == VIR_FROM_STORAGE
    assert "no NFS client" in str(err.value) and "/proc/filesystems" in str(err.value)


def test_nfs_module_lookup(tmp_path: Path) -> None:
    (tmp_path / "6.1.0" / "kernel" / "fs" / "nfs").mkdir(parents=True)
    has_proc_modules = Path("/proc/modules").exists()
    assert not netfs.nfs_module_available("6.1.0", tmp_path)
    (tmp_path / "6.1.0" / "kernel" / "fs" / "nfs" / "nfs.ko.xz").touch()
    assert netfs.nfs_module_available("6.1.0", tmp_path) == has_proc_modules
