"""Probing volume files: raw without a child process, images through qemu-img."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pyvirt.errors import VIR_ERR_SYSTEM_ERROR, libvirtError
from pyvirt.storage import volfile

needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None,
                                    reason="qemu-img is not installed")


@pytest.mark.parametrize(("header", "kind"), [
    (b"QFI\xfb" + bytes(100), "image"),
    (b"KDMV" + bytes(10), "image"),
    (bytes(0x40) + b"\x7f\x10\xda\xbe", "image"),
    (bytes(0x8001) + b"CD001", "iso"),
    (bytes(4096), None),
    (b"hello world", None),
])
def test_header_format(header: bytes, kind: str | None) -> None:
    assert volfile.header_format(header) == kind


def test_format_timestamp() -> None:
    assert volfile.format_timestamp(1795651034, 879033941) == "1795651034.879033941"
    assert volfile.format_timestamp(12, 5) == "12.000000005"
    assert volfile.format_timestamp(0, 0) == "0"


def test_probe_raw_file(tmp_path: Path) -> None:
    path = tmp_path / "a.img"
    with open(path, "wb") as handle:
        handle.write(b"x" * 4096)
        handle.truncate(1 << 20)
    os.chmod(path, 0o640)
    facts = volfile.probe(str(path))
    assert (facts.vol_type, facts.format, facts.capacity, facts.physical) == \
        ("file", "raw", 1 << 20, 1 << 20)
    assert 4096 <= facts.allocation < (1 << 20)       # sparse
    assert facts.file.mode == 0o640 and facts.backing_path is None


def test_probe_directory_volume(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    facts = volfile.probe(str(tmp_path / "d"))
    assert (facts.vol_type, facts.format) == ("dir", "dir")


def test_probe_missing_file_is_a_system_error(tmp_path: Path) -> None:
    with pytest.raises(libvirtError) as err:
        volfile.probe(str(tmp_path / "nope"))
    assert err.value.get_error_code() == VIR_ERR_SYSTEM_ERROR
    assert "No such file or directory" in str(err.value)


@needs_qemu_img
def test_probe_qcow2_overlay(tmp_path: Path) -> None:
    base, top = tmp_path / "b.img", tmp_path / "t.qcow2"
    base.write_bytes(bytes(1 << 20))
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw",
                    str(top), "2M"], check=True)
    facts = volfile.probe(str(top))
    assert (facts.format, facts.capacity) == ("qcow2", 2 << 20)
    assert facts.backing_path == str(base) and facts.backing_format == "raw"
    assert facts.backing_file is not None and facts.physical == top.stat().st_size
