"""Sparse upload/download through the storage driver in-process: holes travel
as lengths, the file written stays sparse, contents are byte-exact."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import pyvirt as libvirt
from pyvirt.api.stream import Hole
from pyvirt.errors import libvirtError
from storage_helpers import vol_xml

MiB = 1 << 20


def sparse_file(path: Path, size: int) -> bytes:
    with open(path, "wb") as handle:
        handle.truncate(size)
        handle.seek(MiB)
        handle.write(b"data" * 1000)
        handle.seek(size - 100)
        handle.write(b"z" * 50)
    return path.read_bytes()


def in_data(fd: int) -> list:
    """[inData, sectionLen] at fd's position (what virsh's in-data callback answers)."""
    cur = os.lseek(fd, 0, os.SEEK_CUR)
    size = os.fstat(fd).st_size
    try:
        data = os.lseek(fd, cur, os.SEEK_DATA)
    except OSError:                       # ENXIO: only a hole (or nothing) is left
        data = size
    if data > cur or cur >= size:
        os.lseek(fd, cur, os.SEEK_SET)
        return [False, data - cur]
    hole = os.lseek(fd, cur, os.SEEK_HOLE)
    os.lseek(fd, cur, os.SEEK_SET)
    return [True, hole - cur]


def test_sparse_download_sends_holes_not_zeros(conn: Any, pool: Any, root: Path) -> None:
    vol = pool.createXML(vol_xml("s", 8 * MiB, allocation=0))
    want = sparse_file(root / "pool" / "s", 8 * MiB)
    stream = conn.newStream()
    vol.download(stream, 0, 0, libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM)
    seen: list = []
    stream.sparseRecvAll(lambda st, d, op: op.append(d),
                         lambda st, n, op: op.append(Hole(n)), seen)
    stream.finish()
    holes = [item.length for item in seen if isinstance(item, Hole)]
    assert holes and holes[0] == MiB                  # the leading MiB is one hole
    assert sum(len(i) for i in seen if isinstance(i, bytes)) < 2 * MiB
    rebuilt = b"".join(bytes(i.length) if isinstance(i, Hole) else i for i in seen)
    assert rebuilt == want


def test_plain_download_of_a_sparse_volume_has_no_holes(conn: Any, pool: Any,
                                                        root: Path) -> None:
    vol = pool.createXML(vol_xml("p2", 2 * MiB, allocation=0))
    want = sparse_file(root / "pool" / "p2", 2 * MiB)
    stream = conn.newStream()
    vol.download(stream, 0, 0)
    got: list = []
    stream.recvAll(lambda st, d, op: op.append(d), got)
    stream.finish()
    assert b"".join(got) == want
    with pytest.raises(libvirtError):
        stream.recvHole()


def test_sparse_upload_keeps_the_volume_sparse(conn: Any, pool: Any, root: Path,
                                              tmp_path: Path) -> None:
    vol = pool.createXML(vol_xml("u", 64 * MiB, allocation=0))
    src = tmp_path / "src.img"
    want = sparse_file(src, 64 * MiB)
    stream = conn.newStream()
    vol.upload(stream, 0, 0, libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM)
    fd = os.open(src, os.O_RDONLY)
    try:
        stream.sparseSendAll(lambda st, n, f: os.read(f, n),
                             lambda st, f: in_data(f),
                             lambda st, n, f: os.lseek(f, n, os.SEEK_CUR), fd)
    finally:
        os.close(fd)
    stream.finish()
    target = root / "pool" / "u"
    assert target.read_bytes() == want
    assert os.stat(target).st_blocks * 512 < 2 * MiB
    assert vol.info()[2] < 2 * MiB


def test_sparse_upload_hole_past_the_end_is_refused(conn: Any, pool: Any, root: Path) -> None:
    vol = pool.createXML(vol_xml("e", MiB, allocation=0))
    stream = conn.newStream()
    vol.upload(stream, 0, 0, libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM)
    stream.send(b"x" * 10)
    with pytest.raises(libvirtError, match="past the end of volume"):
        stream.sendHole(MiB)
    stream.abort()
    assert not any((root / "pool" / "e").read_bytes())


def test_hole_on_a_plain_upload_is_refused(conn: Any, pool: Any) -> None:
    vol = pool.createXML(vol_xml("n", MiB))
    stream = conn.newStream()
    vol.upload(stream, 0, 0)
    with pytest.raises(libvirtError, match="Skipping is not supported"):
        stream.sendHole(10)
    stream.abort()


def test_unknown_transfer_flags_are_refused(conn: Any, pool: Any) -> None:
    vol = pool.createXML(vol_xml("f", MiB))
    with pytest.raises(libvirtError, match="unsupported flags"):
        vol.upload(conn.newStream(), 0, 0, 2)
    with pytest.raises(libvirtError, match="unsupported flags"):
        vol.download(conn.newStream(), 0, 0, 2)
