"""Clone progress pieces: qemu-img -p parsing, the streaming runner, chunked copies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, libvirtError
from pyvirt.storage import commands, fileops, qemu_img

MiB = 1 << 20


def test_parse_progress_takes_the_last_percentage():
    assert qemu_img.parse_progress(b"    (0.00/100%)\r    (42.50/100%)\r") == 42.5
    assert qemu_img.parse_progress(b"    (100.00/100%)\r\n") == 100.0
    assert qemu_img.parse_progress(b"nothing") is None


def test_run_reading_streams_stdout_and_reaps():
    chunks: list[bytes] = []
    commands.run_reading(["sh", "-c", "printf 'a\\r'; printf 'b\\r'"], chunks.append)
    assert b"".join(chunks) == b"a\rb\r"


def test_run_reading_failure_is_libvirts_child_error():
    with pytest.raises(libvirtError) as err:
        commands.run_reading(["sh", "-c", "echo oops >&2; exit 3"], lambda _c: None)
    assert err.value.get_error_code() == VIR_ERR_INTERNAL_ERROR
    assert "unexpected exit status 3: oops" in str(err.value)


def test_run_with_progress_maps_percent_to_bytes(monkeypatch):
    def fake(argv, on_output, **_kw):
        on_output(b"    (0.00/100%)\r    (50.00/100%)\r")
        on_output(b"    (50.00/100%)\r")
    monkeypatch.setattr(commands, "run_reading", fake)
    seen: list = []
    qemu_img.run_with_progress(["qemu-img"], 1000, lambda d, t: seen.append((d, t)))
    assert seen == [(500, 1000), (1000, 1000)]          # the newest figure of each read


def test_sparse_copy_reports_chunks_and_holes(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(fileops, "COPY_CHUNK", MiB)
    src = tmp_path / "src"
    with open(src, "wb") as handle:
        handle.truncate(10 * MiB)
        handle.seek(2 * MiB)
        handle.write(os.urandom(3 * MiB))
    seen: list = []
    fileops.copy_file(str(src), str(tmp_path / "dst"), progress=lambda d, t: seen.append((d, t)))
    dones = [d for d, _t in seen]
    assert dones == sorted(dones) and seen[-1] == (10 * MiB, 10 * MiB)
    assert {t for _d, t in seen} == {10 * MiB}
    assert len([d for d in dones if 2 * MiB < d <= 5 * MiB]) >= 3       # one per chunk
    assert (tmp_path / "dst").read_bytes() == src.read_bytes()
