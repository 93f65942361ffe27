"""createXMLFrom progress (pyvirt's hook) and encrypted volume creation through the
public API on a real dir pool."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pyvirt.errors import VIR_ERR_NO_SECRET, libvirtError
from storage_helpers import needs_qemu_img, vol_xml

MiB = 1 << 20
UUID = "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f"


def storage_driver(conn: Any) -> Any:
    return conn._drv.storage


@pytest.fixture
def progress(conn: Any):
    seen: list = []
    storage_driver(conn).set_clone_progress(lambda *args: seen.append(args))
    yield seen
    storage_driver(conn).set_clone_progress(None)


def test_raw_clone_reports_progress_up_to_the_whole_size(conn: Any, pool: Any, root: Path,
                                                        progress: list) -> None:
    src = pool.createXML(vol_xml("src", 200 * MiB, allocation=0))
    with open(root / "pool" / "src", "r+b") as handle:
        handle.seek(150 * MiB)
        handle.write(b"x" * MiB)
    pool.createXMLFrom(vol_xml("dst", 0), src, 0)
    assert progress and all(p[:2] == ("p", "dst") for p in progress)
    dones = [p[2] for p in progress]
    assert dones == sorted(dones) and progress[-1][2:] == (200 * MiB, 200 * MiB)
    assert (root / "pool" / "dst").read_bytes() == (root / "pool" / "src").read_bytes()
    assert os.stat(root / "pool" / "dst").st_blocks * 512 < 8 * MiB


@needs_qemu_img
def test_qcow2_clone_reports_qemu_img_percentages(conn: Any, pool: Any,
                                                  progress: list) -> None:
    src = pool.createXML(vol_xml("raw", 16 * MiB))
    pool.createXMLFrom(vol_xml("q", 0, fmt="qcow2"), src, 0)
    assert progress[-1] == ("p", "q", 16 * MiB, 16 * MiB)
    assert pool.storageVolLookupByName("q").info()[1] == 16 * MiB


def test_clone_without_a_hook_reports_nothing(conn: Any, pool: Any) -> None:
    src = pool.createXML(vol_xml("a", MiB))
    assert pool.createXMLFrom(vol_xml("b", 0), src, 0).name() == "b"


def test_encrypted_volume_is_refused_with_libvirts_missing_secret(conn: Any, pool: Any,
                                                                  root: Path) -> None:
    xml = (f"<volume><name>enc</name><capacity>1048576</capacity><target>"
           f"<format type='raw'/><encryption format='luks'><secret type='passphrase' "
           f"uuid='{UUID}'/></encryption></target></volume>")
    with pytest.raises(libvirtError) as err:
        pool.createXML(xml)
    assert err.value.get_error_code() == VIR_ERR_NO_SECRET
    assert str(err.value) == f"Secret not found: no secret with matching uuid '{UUID}'"
    src = pool.createXML(vol_xml("plain", MiB))
    with pytest.raises(libvirtError) as err:
        pool.createXMLFrom(xml, src, 0)
    assert err.value.get_error_code() == VIR_ERR_NO_SECRET
    assert not (root / "pool" / "enc").exists()
    assert pool.listVolumes() == ["plain"]
