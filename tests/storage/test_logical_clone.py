"""Cloning into a logical pool: lvcreate, then qemu-img convert into the LV, with a
fake command runner (this kernel has no device-mapper, so no LV can be activated)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from pyvirt.conf.storage import StoragePoolDef, StorageVolDef
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_UNSUPPORTED, error, \
    libvirtError
from pyvirt.storage.backend import backend_for
from pyvirt.storage.volfile import VolumeFacts

LVS = json.dumps({"report": [{"lv": [{
    "lv_name": "copy", "vg_name": "vg", "lv_uuid": "u-1", "lv_path": "/dev/vg/copy",
    "lv_size": "1073741824", "lv_attr": "-wi-a-----", "origin": "", "devices": "/dev/loop0(0)",
    "lv_active": "active", "seg_size": "1073741824", "vg_extent_size": "4194304"}]}]})


class FakeRunner:
    """Records every argv; answers lvs with one LV; fails on a chosen tool."""

    def __init__(self, fail: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, argv: list[str], check: bool = True, **_kw: Any):
        self.calls.append(list(argv))
        if self.fail and argv[0] == self.fail:
            raise error(VIR_ERR_INTERNAL_ERROR, f"Child process ({argv[0]}) unexpected exit "
                        "status 1: boom")
        out = LVS.encode() if argv[0] == "lvs" else b""
        return subprocess.CompletedProcess(argv, 0, out, b"")


def logical(runner: FakeRunner, activation: bool = True) -> Any:
    pdef = StoragePoolDef.from_xml("<pool type='logical'><name>vg</name><source><device "
                                   "path='/dev/loop0'/></source></pool>")
    pdef.normalize()
    backend = backend_for(pdef)
    backend.activation = activation
    backend.run = runner
    return backend


def vol(name: str = "copy", capacity: int | None = None) -> StorageVolDef:
    cap = "" if capacity is None else f"<capacity>{capacity}</capacity>"
    return StorageVolDef.from_xml(f"<volume><name>{name}</name>{cap}</volume>",
                                  pool_type="logical", need_capacity=False)


QCOW2 = VolumeFacts("/pool/src.qcow2", "file", "qcow2", 1 << 30, 200 << 20, 200 << 20)


def test_clone_creates_the_lv_then_converts_into_it():
    runner = FakeRunner()
    found = logical(runner).clone_volume(vol(), QCOW2, 0)
    assert runner.calls[0][:4] == ["lvcreate", "--name", "copy", "-y"]
    assert runner.calls[0][-3:] == ["-L", "1073741824b", "vg"]
    assert runner.calls[1] == ["qemu-img", "convert", "-f", "qcow2", "-O", "raw", "-n",
                               "/pool/src.qcow2", "/dev/vg/copy"]
    assert runner.calls[2][0] == "lvs"
    assert (found.name, found.facts.path, found.facts.capacity) == ("copy", "/dev/vg/copy",
                                                                    1 << 30)


def test_clone_capacity_is_at_least_the_sources():
    runner = FakeRunner()
    logical(runner).clone_volume(vol(capacity=2 << 30), QCOW2, 0)
    assert "2147483648b" in runner.calls[0]


def test_a_failed_copy_removes_the_new_lv():
    runner = FakeRunner(fail="qemu-img")
    with pytest.raises(libvirtError, match="boom"):
        logical(runner).clone_volume(vol(), QCOW2, 0)
    assert [c[0] for c in runner.calls] == ["lvcreate", "qemu-img", "lvremove"]
    assert runner.calls[2][-1] == "vg/copy"


def test_progress_goes_through_qemu_img_p():
    runner = FakeRunner()
    backend = logical(runner)
    seen: list = []
    backend.run_progress = lambda argv, total, cb: (runner.calls.append(argv), cb(total, total))
    backend.clone_volume(vol(), QCOW2, 0, lambda done, total: seen.append((done, total)))
    assert "-p" in runner.calls[1] and seen == [(1 << 30, 1 << 30)]


def test_without_device_mapper_nothing_is_run():
    runner = FakeRunner()
    with pytest.raises(libvirtError) as err:
        logical(runner, activation=False).clone_volume(vol(), QCOW2, 0)
    assert err.value.get_error_code() == VIR_ERR_OPERATION_UNSUPPORTED
    assert "device-mapper (/dev/mapper/control) absent" in str(err.value)
    assert runner.calls == []


def test_raw_and_block_sources_convert_as_raw():
    runner = FakeRunner()
    block = VolumeFacts("/dev/vg/other", "block", "none", 1 << 20, 1 << 20, 1 << 20)
    logical(runner).clone_volume(vol(), block, 0)
    assert runner.calls[1][2:6] == ["-f", "raw", "-O", "raw"]
