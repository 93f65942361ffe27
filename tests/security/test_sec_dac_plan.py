"""Pure DAC planning: which files a domain's identity gets, rw or ro."""

import pytest
from lxml import etree

from pyvirt.errors import VIR_ERR_OPERATION_INVALID, libvirtError
from pyvirt.security.dac import RO, RW, FileAction, check_identity, merge_actions, plan_domain
from pyvirt.security.seclabel import DacSeclabel, Owner

XML = """<domain type='qemu'><name>a</name>
  <os><type>hvm</type><kernel>/boot/vmlinuz</kernel><initrd>/boot/initrd</initrd></os>
  {seclabel}
  <devices>
    <disk type='file' device='disk'><source file='/img/a.qcow2'/>
      <backingStore type='file'><format type='qcow2'/><source file='/img/base.qcow2'/>
        <backingStore type='file'><source file='/img/base0.raw'/></backingStore>
      </backingStore>
      <target dev='vda'/></disk>
    <disk type='file' device='cdrom'><source file='/iso/x.iso'/><target dev='hdc'/></disk>
    <disk type='file' device='disk'><source file='/img/ro.raw'/><target dev='vdb'/>
      <readonly/></disk>
    <disk type='file' device='disk'><source file='/img/keep.raw'>
      <seclabel model='dac' relabel='no'/></source><target dev='vdc'/></disk>
    <disk type='network' device='disk'><source protocol='nbd' name='x'/><target dev='vdd'/></disk>
    <serial type='file'><source path='/var/log/a-serial.log'/></serial>
    <console type='pty'><log file='/var/log/a-console.log'/></console>
    <channel type='unix'><source mode='bind' path='/run/a.agent'/></channel>
  </devices></domain>"""


def plan(seclabel: str = "") -> list[FileAction]:
    return plan_domain(etree.fromstring(XML.format(seclabel=seclabel)))


def test_plan_lists_every_file_with_its_access():
    got = {(a.path, a.access, a.what) for a in plan()}
    assert got == {
        ("/boot/vmlinuz", RO, "kernel"), ("/boot/initrd", RO, "initrd"),
        ("/img/a.qcow2", RW, "disk"), ("/img/base.qcow2", RO, "backing"),
        ("/img/base0.raw", RO, "backing"), ("/iso/x.iso", RO, "disk"),
        ("/img/ro.raw", RO, "disk"), ("/var/log/a-serial.log", RW, "serial file"),
        ("/var/log/a-console.log", RW, "console log"), ("/run/a.agent", RW, "channel unix"),
    }


def test_relabel_no_and_type_none_plan_nothing():
    assert plan("<seclabel type='static' model='dac' relabel='no'><label>+1:+1</label>"
                "</seclabel>") == []
    assert plan("<seclabel type='none'/>") == []


def test_extra_files_and_merge():
    acts = plan_domain(etree.fromstring(XML.format(seclabel="")),
                       extra=[FileAction("/run/q/monitor.sock", RW, "monitor")])
    assert FileAction("/run/q/monitor.sock", RW, "monitor") in acts
    merged = merge_actions([FileAction("/a//b", RO, "backing"), FileAction("/a/b", RW, "disk"),
                            FileAction("/a/b", RO, "kernel")])
    assert merged == [FileAction("/a/b", RW, "disk")]


def test_identity_checks():
    assert check_identity(DacSeclabel(), Owner(107, 107)) == Owner(107, 107)
    assert check_identity(DacSeclabel(type="static", label=Owner(5, 6)), Owner(1, 1)) == Owner(5, 6)
    assert check_identity(DacSeclabel(type="none", relabel=False), None) is None
    for owner in (None, Owner(0, 0)):
        with pytest.raises(libvirtError) as info:
            check_identity(DacSeclabel(), owner)
        assert info.value.get_error_code() == VIR_ERR_OPERATION_INVALID
