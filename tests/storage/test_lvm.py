"""LVM argv builders and JSON report parsing (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirt.errors import libvirtError
from pyvirt.storage import lvm

# Captured from LVM 2.03 (Debian 12) with --config 'global{activation=0}'.
VGS_JSON = """  {
      "report": [
          {
              "vg": [
                  {"vg_name":"pyvtestvg", "vg_uuid":"niVuA4-8w9Q-7n03-Mi0u-TkSi-amDs-4ZcJ0G",
                   "vg_size":"62914560", "vg_free":"54525952", "vg_extent_size":"4194304",
                   "pv_count":"1", "lv_count":"1"}
              ]
          }
      ]
  }"""
LVS_JSON = """{"report": [{"lv": [
  {"lv_name":"lv1", "vg_name":"pyvtestvg", "lv_uuid":"mLTqia-S5Ji-zjWH-vq4r-3Iig-e3Nw-0NLFXT",
   "lv_path":"/dev/pyvtestvg/lv1", "lv_size":"8388608", "lv_attr":"-wi-XX----", "origin":"",
   "seg_size":"4194304", "devices":"/dev/loop0(0)", "data_percent":"", "lv_active":"unknown"},
  {"lv_name":"lv1", "vg_name":"pyvtestvg", "lv_uuid":"mLTqia-S5Ji-zjWH-vq4r-3Iig-e3Nw-0NLFXT",
   "lv_path":"/dev/pyvtestvg/lv1", "lv_size":"8388608", "lv_attr":"-wi-XX----", "origin":"",
   "seg_size":"4194304", "devices":"/dev/loop1(0)", "data_percent":"", "lv_active":"unknown"},
  {"lv_name":"snap", "vg_name":"pyvtestvg", "lv_uuid":"abc", "lv_path":"",
   "lv_size":"4194304", "lv_attr":"swi-a-s---", "origin":"lv1", "seg_size":"4194304",
   "devices":"/dev/loop0(2)", "data_percent":"0.00", "lv_active":"active"}
]}]}"""


def test_report_argv_asks_json_in_bytes() -> None:
    argv = lvm.vgs_argv("vg0")
    assert argv[:6] == ["vgs", "--reportformat", "json", "--units", "b", "--nosuffix"]
    assert argv[-1] == "vg0" and "--config" not in argv


def test_without_device_mapper_every_command_disables_activation() -> None:
    for argv in (lvm.vgs_argv("vg", False), lvm.lvs_argv("vg", False), lvm.pvs_argv(False),
                 lvm.pvcreate_argv("/dev/loop0", False), lvm.vgcreate_argv("vg", ["/d"], False),
                 lvm.vgremove_argv("vg", False), lvm.pvremove_argv("/d", False),
                 lvm.lvremove_argv("vg", "lv", False), lvm.lvresize_argv("vg", "lv", 1, False),
                 lvm.lvcreate_argv("vg", "lv", 1, activation=False)):
        assert argv[argv.index("--config") + 1] == "global{activation=0}"


def test_lvcreate_argv() -> None:
    assert lvm.lvcreate_argv("vg", "lv", 8388608) == \
        ["lvcreate", "--name", "lv", "-y", "-L", "8388608b", "vg"]
    inactive = lvm.lvcreate_argv("vg", "lv", 8388608, activation=False)
    assert "-an" in inactive and "-Zn" in inactive
    sparse = lvm.lvcreate_argv("vg", "lv", 100, allocation=10)
    assert sparse[-5:] == ["-L", "10b", "--virtualsize", "100b", "vg"]


def test_vgcreate_and_lv_targets() -> None:
    assert lvm.vgcreate_argv("vg", ["/dev/a", "/dev/b"]) == ["vgcreate", "vg", "/dev/a",
                                                             "/dev/b"]
    assert lvm.lvremove_argv("vg", "lv")[-1] == "vg/lv"
    assert lvm.lvresize_argv("vg", "lv", 42)[:4] == ["lvresize", "-f", "-L", "42b"]
    assert lvm.vgchange_argv("vg", True) == ["vgchange", "-ay", "vg"]
    assert lvm.vgchange_argv("vg", False) == ["vgchange", "-an", "vg"]


def test_parse_vgs() -> None:
    [vg] = lvm.parse_vgs(VGS_JSON)
    assert (vg.name, vg.size, vg.free, vg.extent_size) == ("pyvtestvg", 62914560, 54525952,
                                                          4194304)
    assert (vg.pv_count, vg.lv_count) == (1, 1)


def test_parse_lvs_joins_segments_of_one_lv() -> None:
    lv1, snap = lvm.parse_lvs(LVS_JSON)
    assert lv1.name == "lv1" and lv1.size == 8388608
    assert lv1.devices == "/dev/loop0(0),/dev/loop1(0)"
    assert lv1.path == "/dev/pyvtestvg/lv1" and not lv1.active
    assert not lv1.is_snapshot_or_thin
    assert snap.is_snapshot_or_thin and snap.origin == "lv1" and snap.active
    assert snap.path == "/dev/pyvtestvg/snap"       # filled in when LVM leaves it empty


def test_parse_lvs_extents_in_bytes() -> None:
    text = LVS_JSON.replace('"lv_active":"unknown"}', '"lv_active":"unknown", '
                            '"vg_extent_size":"4194304"}')
    lv1 = lvm.parse_lvs(text)[0]
    assert lv1.extents == (("/dev/loop0", 0, 4194304), ("/dev/loop1", 0, 4194304))
    assert lvm._segment_extents("/dev/a(2),/dev/b(0)", 8, 4) == [("/dev/a", 8, 12),
                                                                 ("/dev/b", 0, 4)]


@pytest.mark.parametrize("text", ["", "{}", '{"report": 3}'])
def test_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(libvirtError):
        lvm.parse_lvs(text)


def test_device_mapper_probe(tmp_path: Path) -> None:
    assert not lvm.device_mapper_available(tmp_path / "control")
    (tmp_path / "control").touch()
    assert lvm.device_mapper_available(tmp_path / "control")


def test_lvsnapshot_argv() -> None:
    assert lvm.lvsnapshot_argv("vg", "s", "/dev/vg/o", 4096) == \
        ["lvcreate", "--name", "s", "-y", "-L", "4096b", "--snapshot", "/dev/vg/o"]


def test_parse_pvs() -> None:
    text = ('{"report": [{"pv": [{"pv_name":"/dev/loop0", "vg_name":"vg", "pv_size":"62914560",'
            ' "pv_free":"0"}, {"pv_name":"/dev/loop1", "vg_name":"", "pv_size":"1",'
            ' "pv_free":"1"}]}]}')
    pvs = lvm.parse_pvs(text)
    assert [(p.name, p.vg, p.size) for p in pvs] == [("/dev/loop0", "vg", 62914560),
                                                      ("/dev/loop1", "", 1)]
