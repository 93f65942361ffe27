"""vol-dumpxml as real libvirt 9.0 prints it for the same kind of file.

Golden files: ``virsh vol-dumpxml`` of a session libvirtd's dir pool on
/tmp/rlhome/p1 (uid 1001). Paths, owners and times are the only differences
allowed; they are normalised before comparing.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from storage_helpers import needs_qemu_img
from pyvirt.drivers.storage.xmlformat import volume_xml
from pyvirt.storage.backend import FoundVolume
from pyvirt.storage.volfile import probe

DATA = Path(__file__).parent / "data"
REAL_DIR = "/tmp/rlhome/p1"
MiB = 1 << 20


def normalise(text: str, folder: str, uid: int, gid: int) -> str:
    text = text.replace(folder, "POOL")
    text = re.sub(r"<(a|m|c)time>[^<]*</\1time>", r"<\1time>T</\1time>", text)
    text = re.sub(r"<owner>\d+</owner>", "<owner>U</owner>", text)
    text = re.sub(r"<group>\d+</group>", "<group>G</group>", text)
    return text


def ours(path: Path) -> str:
    return volume_xml(FoundVolume(path.name, str(path), probe(str(path))))


def golden(name: str) -> str:
    return normalise((DATA / f"vol-{name}-libvirt9.xml").read_text(), REAL_DIR, 0, 0)


def test_raw_file(tmp_path: Path) -> None:
    path = tmp_path / "a.img"
    with open(path, "wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, 12 * MiB)
    os.chmod(path, 0o600)
    assert normalise(ours(path), str(tmp_path), 0, 0) == golden("a.img")


@needs_qemu_img
def test_qcow2_on_a_raw_backing_file(tmp_path: Path) -> None:
    base = tmp_path / "a.img"
    with open(base, "wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, 12 * MiB)
    os.chmod(base, 0o600)
    top = tmp_path / "c.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=1.1",
                    "-b", str(base), "-F", "raw", str(top), str(MiB)], check=True)
    os.chmod(top, 0o600)
    mine = normalise(ours(top), str(tmp_path), 0, 0)
    theirs = golden("c.qcow2")
    sizes = re.compile(r"<(allocation|physical) unit='bytes'>\d+<")
    assert sizes.sub("<S<", mine) == sizes.sub("<S<", theirs)


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "subdir"
    path.mkdir()
    os.chmod(path, 0o755)
    assert normalise(ours(path), str(tmp_path), 0, 0) == golden("subdir")
