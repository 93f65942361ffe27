"""memtune/blkiotune on the test driver: the same results and errors as libvirt's own
test driver, call by call (the real binding on test:///default is the reference)."""

from __future__ import annotations

import pytest

import pyvirt
from pyvirt.drivers.test.domain_tuning import parse_device_string

real = pytest.importorskip("libvirt", reason="needs the real libvirt-python binding")

UNLIMITED = 9007199254740991
STEPS = [
    ("memoryParameters", (0,)), ("blkioParameters", (0,)),
    ("setMemoryParameters", ({"hard_limit": 1000, "soft_limit": 500}, 0)),
    ("memoryParameters", (0,)), ("memoryParameters", (3,)),
    ("setMemoryParameters", ({"hard_limit": 10, "swap_hard_limit": 5}, 0)),
    ("setMemoryParameters", ({"hard_limit": UNLIMITED}, 0)), ("memoryParameters", (0,)),
    ("setBlkioParameters", ({"weight": 500}, 0)),
    ("setBlkioParameters", ({"device_weight": "/dev/sda,100,/dev/sdb,200"}, 0)),
    ("setBlkioParameters", ({"device_read_iops_sec": "/dev/sda,7"}, 0)),
    ("setBlkioParameters", ({"device_weight": "garbage"}, 0)),
    ("setBlkioParameters", ({"device_weight": "/dev/sda,x"}, 0)),
    ("blkioParameters", (0,)), ("XMLDesc", (0,)),
    ("destroy", ()), ("setMemoryParameters", ({"soft_limit": 7}, 1)),
    ("setMemoryParameters", ({"soft_limit": 7}, 2)), ("memoryParameters", (2,)),
    ("blkioParameters", (0,)), ("XMLDesc", (2,)),
]


def _run(binding) -> list:
    conn = binding.open("test:///default")
    dom = conn.lookupByName("test")
    out = []
    for name, args in STEPS:
        try:
            out.append(("ok", getattr(dom, name)(*args)))
        except binding.libvirtError as err:
            out.append(("err", err.get_error_code(), err.get_error_domain(), str(err)))
    conn.close()
    return out


def test_same_as_libvirts_test_driver():
    ours, theirs = _run(pyvirt), _run(real)
    for step, mine, ref in zip(STEPS, ours, theirs):
        assert mine == ref, step


def test_device_strings_parse_in_pairs():
    assert parse_device_string("device_weight", "/dev/a,1,/dev/b,2") == [("/dev/a", 1),
                                                                         ("/dev/b", 2)]
    with pytest.raises(pyvirt.libvirtError, match="unable to parse blkio device"):
        parse_device_string("device_weight", "/dev/a")
