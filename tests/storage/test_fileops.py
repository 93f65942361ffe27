"""Byte work on volume files: creation, sparse copies, wipe, uploads and downloads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyvirt.api.stream import StreamEnd
from pyvirt.errors import VIR_ERR_INVALID_ARG, VIR_ERR_SYSTEM_ERROR, libvirtError
from pyvirt.storage import fileops

MiB = 1 << 20


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if fileops.is_temp_name(p.name)]


def test_create_raw_reserves_allocation(tmp_path: Path) -> None:
    path = tmp_path / "v"
    fileops.create_raw(str(path), 4 * MiB, 2 * MiB)
    st = path.stat()
    assert st.st_size == 4 * MiB and st.st_blocks * 512 >= 2 * MiB
    assert st.st_mode & 0o777 == 0o600


def test_create_raw_refuses_existing_file_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "v"
    path.write_bytes(b"keep")
    with pytest.raises(libvirtError) as err:
        fileops.create_raw(str(path), MiB, 0)
    assert err.value.get_error_code() == VIR_ERR_SYSTEM_ERROR
    assert str(err.value) == f"cannot create path '{path}': File exists"
    assert path.read_bytes() == b"keep"


def test_data_extents_skip_holes(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with open(path, "wb") as handle:
        handle.truncate(8 * MiB)
        handle.seek(3 * MiB)
        handle.write(b"d" * 4096)
    fd = os.open(path, os.O_RDONLY)
    try:
        extents = list(fileops.data_extents(fd, 0, 8 * MiB))
        regions = list(fileops._regions(fd, 0, 8 * MiB))
    finally:
        os.close(fd)
    assert len(extents) == 1 and extents[0][0] <= 3 * MiB < sum(extents[0])
    assert sum(length for _, length, _ in regions) == 8 * MiB
    assert [is_data for _, _, is_data in regions] == [False, True, False]


def test_copy_file_is_sparse_and_exact(tmp_path: Path) -> None:
    src, dst = tmp_path / "s", tmp_path / "d"
    with open(src, "wb") as handle:
        handle.truncate(16 * MiB)
        handle.seek(5 * MiB)
        handle.write(os.urandom(8192))
    fileops.copy_file(str(src), str(dst))
    assert dst.read_bytes() == src.read_bytes()
    assert dst.stat().st_blocks * 512 < MiB


def test_copy_file_failure_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(libvirtError):
        fileops.copy_file(str(tmp_path / "missing"), str(tmp_path / "d"))
    assert not (tmp_path / "d").exists()


def test_resize_and_wipe(tmp_path: Path) -> None:
    path = tmp_path / "v"
    path.write_bytes(b"\xff" * MiB)
    fileops.resize_raw(str(path), 2 * MiB, preallocate=True)
    assert path.stat().st_size == 2 * MiB
    fileops.wipe(str(path), 2 * MiB)
    assert path.read_bytes() == bytes(2 * MiB)
    fileops.wipe(str(path), MiB, lambda n: b"\x01" * n)
    assert path.read_bytes()[:MiB] == b"\x01" * MiB


def test_upload_replaces_content_atomically(tmp_path: Path) -> None:
    path = tmp_path / "v"
    path.write_bytes(b"a" * MiB)
    os.chmod(path, 0o640)
    done = []
    up = fileops.Upload(str(path), 4096, 0, MiB, done=lambda: done.append(1))
    up.receive(b"b" * 4096)
    up.receive(bytes(8192))                      # zeros: left as a hole
    assert path.read_bytes() == b"a" * MiB       # nothing visible before finish
    up.finish()
    data = path.read_bytes()
    assert data[:4096] == b"a" * 4096 and data[4096:8192] == b"b" * 4096
    assert data[8192:16384] == bytes(8192) and data[16384:] == b"a" * (MiB - 16384)
    assert path.stat().st_mode & 0o777 == 0o640 and done == [1]
    assert leftovers(tmp_path) == []


def test_upload_past_the_volume_end_is_refused_and_cleaned(tmp_path: Path) -> None:
    path = tmp_path / "v"
    path.write_bytes(b"a" * 8192)
    up = fileops.Upload(str(path), 0, 0, 8192)
    up.receive(b"b" * 8192)
    with pytest.raises(libvirtError) as err:
        up.receive(b"c")
    assert err.value.get_error_code() == VIR_ERR_INVALID_ARG
    assert "past the end of volume" in str(err.value)
    assert path.read_bytes() == b"a" * 8192 and leftovers(tmp_path) == []
    with pytest.raises(libvirtError) as again:
        up.finish()                                  # the failure is not forgotten
    assert again.value is err.value
    assert path.read_bytes() == b"a" * 8192


def test_upload_announced_too_long_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "v"
    path.write_bytes(bytes(100))
    with pytest.raises(libvirtError):
        fileops.Upload(str(path), 50, 51, 100)
    with pytest.raises(libvirtError):
        fileops.Upload(str(path), 101, 0, 100)
    assert leftovers(tmp_path) == []


def test_upload_more_than_announced_and_abort(tmp_path: Path) -> None:
    path = tmp_path / "v"
    path.write_bytes(bytes(100))
    up = fileops.Upload(str(path), 0, 10, 100)
    with pytest.raises(libvirtError):
        up.receive(b"x" * 11)
    aborted = fileops.Upload(str(path), 0, 0, 100)
    aborted.receive(b"x" * 10)
    aborted.abort()
    assert path.read_bytes() == bytes(100) and leftovers(tmp_path) == []


def _drain(end: StreamEnd) -> bytes:
    out = []
    while True:
        chunk = end._app_recv(1 << 20, True)
        if not chunk:
            return b"".join(out)
        out.append(chunk)


def test_download_sends_holes_as_zeros(tmp_path: Path) -> None:
    path = tmp_path / "v"
    with open(path, "wb") as handle:
        handle.truncate(3 * MiB)
        handle.seek(MiB + 7)
        handle.write(b"payload")
    end = StreamEnd()
    finished = []
    fileops.start_download(str(path), 0, 0, end, done=lambda: finished.append(1)).join()
    assert _drain(end) == path.read_bytes() and finished == [1]


def test_download_window(tmp_path: Path) -> None:
    path = tmp_path / "v"
    path.write_bytes(bytes(range(256)) * 16)
    end = StreamEnd()
    thread = fileops.start_download(str(path), 10, 20, end)
    data = _drain(end)
    thread.join()
    assert data == path.read_bytes()[10:30]


def test_scrub_argv() -> None:
    assert fileops.scrub_argv("/v", 2) == ["scrub", "-f", "-p", "dod", "/v"]
