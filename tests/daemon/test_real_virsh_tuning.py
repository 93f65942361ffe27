"""Real virsh's tuning commands through pyvirtd print what they print locally."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tuning_fake import TuningTables

from pyvirt.drivers import base
from pyvirt.drivers.base import DriverConnection

VIRSH = shutil.which("virsh")
pytestmark = pytest.mark.skipif(VIRSH is None, reason="real virsh not installed")


def _virsh(uri: str, script: str) -> tuple[int, str, str]:
    done = subprocess.run([VIRSH, "-c", uri, script], capture_output=True, text=True,
                          timeout=60)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("script", [
    "schedinfo test",
    "schedinfo test weight=10; schedinfo test --weight 7",
    "schedinfo test --set weight=abc",
    "schedinfo test --current",
    "schedinfo nosuch",
])
def test_schedinfo_over_pyvirtd_matches_local(daemon, script):
    remote = _virsh(f"test+unix:///default?socket={daemon.rw_path}", script)
    local = _virsh("test:///default", script)
    assert remote == local
    assert remote[1].startswith("Scheduler") or "nosuch" in script


def test_read_only_socket_still_answers_schedinfo(daemon):
    code, out, _err = _virsh(f"test+unix:///default?socket={daemon.ro_path}", "schedinfo test")
    assert code == 0
    assert "weight         : 50" in out


# --- memtune / blkiotune / schedinfo against a driver that has the parameters --------

def tuning_table() -> TuningTables:
    """``vm`` (id 3) with the blkio and scheduler fields the tests below print."""
    return TuningTables(blkio={"weight": 100, "device_weight": "", "device_read_iops_sec": ""},
                        sched={"cpu_shares": 1024, "vcpu_period": 100000, "vcpu_quota": -1},
                        dom_id=3)


class TuningDriver:
    name = "tuning-test"
    table = tuning_table()

    def open(self, uri, flags, readonly):
        if getattr(uri, "scheme", None) != "tuningfake":
            return None
        return DriverConnection(uri=str(uri), hypervisor=TuningDriver.table, readonly=readonly)


@pytest.fixture
def tuning_uri(daemon):
    if not any(d.name == TuningDriver.name for d in base.registered_drivers()):
        base.register_driver(TuningDriver())
    TuningDriver.table = tuning_table()
    yield f"tuningfake+unix:///system?socket={daemon.rw_path}"
    base._REGISTRY[:] = [d for d in base._REGISTRY if d.name != TuningDriver.name]


def test_real_memtune_over_pyvirtd(tuning_uri):
    code, out, err = _virsh(tuning_uri, "memtune vm")
    assert (code, err) == (0, "")
    assert out == ("hard_limit     : unlimited\nsoft_limit     : unlimited\n"
                   "swap_hard_limit: unlimited\nmin_guarantee  : 0\n\n")
    code, _out, err = _virsh(tuning_uri, "memtune vm --hard-limit 1G --config")
    assert (code, err) == (0, "")
    assert TuningDriver.table.memory["hard_limit"] == 1048576


def test_real_blkiotune_over_pyvirtd(tuning_uri):
    code, _out, err = _virsh(tuning_uri, "blkiotune vm --weight 300 "
                                         "--device-read-iops-sec /dev/sda,20")
    assert (code, err) == (0, "")
    code, out, _err = _virsh(tuning_uri, "blkiotune vm")
    assert out == ("weight         : 300\ndevice_weight  : \n"
                   "device_read_iops_sec: /dev/sda,20\n\n")


def test_real_schedinfo_set_over_pyvirtd(tuning_uri):
    code, out, err = _virsh(tuning_uri, "schedinfo vm --set cpu_shares=2048 --live")
    assert (code, err) == (0, "")
    assert out == ("Scheduler      : posix\ncpu_shares     : 2048\n"
                   "vcpu_period    : 100000\nvcpu_quota     : -1\n\n")
    code, _out, err = _virsh(tuning_uri, "schedinfo vm vcpu_quota=x")
    assert err == ("error: invalid argument: Invalid value for field 'vcpu_quota': "
                   "expected long long\n")
