"""The QEMU driver's table without starting QEMU: URIs, shared state, definitions
persisted atomically, unknown XML, autostart, and the checks made before a start."""

from __future__ import annotations

import dataclasses
import os
import re
import uuid as uuidlib
from pathlib import Path

import pytest

from pyvirt import uri as urimod
from pyvirt.drivers.qemu import driver as qdriver, state_dir
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INVALID_ARG, VIR_ERR_NO_DOMAIN,
    VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID, VIR_ERR_SYSTEM_ERROR, libvirtError,
)
from pyvirt.objects import numbers as n
from pyvirt.objects.numbers import DomainState

UUID = "c7a5fdbd-edaf-9455-926a-d65c16db1809"


def domain_xml(name: str = "vm1", uuid: str | None = UUID, virt: str = "qemu",
               extra: str = "", devices: str = "") -> str:
    uuid_el = f"<uuid>{uuid}</uuid>" if uuid else ""
    return (f"<domain type='{virt}'><name>{name}</name>{uuid_el}"
            f"<memory unit='MiB'>128</memory><vcpu>1</vcpu>"
            f"<os><type arch='x86_64'>hvm</type></os>{extra}"
            f"<devices>{devices}</devices></domain>")


def open_hv(root: Path, readonly: bool = False):
    conn = QemuDriver().open(urimod.parse(f"qemu:///embed?root={root}"), 0, readonly)
    return conn.hypervisor


@pytest.fixture
def hv(tmp_path: Path):
    table = open_hv(tmp_path)
    yield table
    table.connect_close()
    qdriver.forget_state_for_tests(table.drv.dirs)


def code_of(call, *args) -> int:
    with pytest.raises(libvirtError) as info:
        call(*args)
    return info.value.get_error_code()


# --- opening ------------------------------------------------------------------------
def test_driver_declines_other_uris() -> None:
    for text in ("test:///default", "qemu+ssh://host/system", "qemu://host/system"):
        assert QemuDriver().open(urimod.parse(text), 0, False) is None


def test_connections_to_one_root_share_state(tmp_path: Path, hv) -> None:
    other = open_hv(tmp_path)
    assert other.drv is hv.drv
    assert hv.connect_get_type() == "QEMU"
    assert hv.connect_get_uri() == f"qemu:///embed?root={tmp_path}"
    assert hv.connect_get_version() >= 7_000_000
    ref = hv.domain_define_xml_flags(domain_xml(), 0)
    assert other.domain_lookup_by_name("vm1") == ref
    other.connect_close()
    assert not other.connect_is_alive()


# --- definitions ------------------------------------------------------------------------
def test_define_persists_atomically_with_qemu_defaults(tmp_path: Path, hv) -> None:
    ref = hv.domain_define_xml_flags(domain_xml(), 0)
    assert ref.name == "vm1" and ref.uuid == uuidlib.UUID(UUID).bytes and ref.id == -1
    saved = (tmp_path / "etc/qemu/vm1.xml").read_text()
    assert "<type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>" in saved
    assert "<emulator>/usr/bin/qemu-system-x86_64</emulator>" in saved
    assert saved == hv.domain_get_xml_desc(ref, n.XML_INACTIVE)
    assert not [p for p in (tmp_path / "etc/qemu").iterdir() if p.name.startswith(".")]
    assert hv.domain_get_state(ref) == [DomainState.SHUTOFF, 0]
    assert hv.connect_list_defined_domains() == ["vm1"]
    assert hv.connect_num_of_domains() == 0


def test_define_twice_updates_and_name_clash_fails(hv) -> None:
    events = []
    hv.connect_domain_event_register_any(n.EVENT_ID_LIFECYCLE, None,
                                         lambda *a: events.append(a[2:]))
    hv.domain_define_xml_flags(domain_xml(), 0)
    hv.domain_define_xml_flags(domain_xml(), 0)
    assert events == [(n.DomainEvent.DEFINED, n.DEFINED_ADDED),
                      (n.DomainEvent.DEFINED, n.DEFINED_UPDATED)]
    clash = domain_xml(uuid="11111111-2222-3333-4444-555555555555")
    assert code_of(hv.domain_define_xml_flags, clash, 0) == VIR_ERR_OPERATION_FAILED


def test_other_virt_types_are_refused(hv) -> None:
    with pytest.raises(libvirtError) as info:
        hv.domain_define_xml_flags(domain_xml(virt="test"), 0)
    assert info.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert "does not support virt type 'test'" in info.value.get_error_message()


def test_unknown_xml_validate_refuses_else_strips_with_message(tmp_path: Path, hv) -> None:
    xml = domain_xml(extra="<frobnicate level='3'/>")
    with pytest.raises(libvirtError) as info:
        hv.domain_define_xml_flags(xml, n.DEFINE_VALIDATE)
    assert info.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert "frobnicate" in info.value.get_error_message()
    assert not (tmp_path / "etc/qemu/vm1.xml").exists()
    ref = hv.domain_define_xml_flags(xml, 0)
    assert "frobnicate" not in hv.domain_get_xml_desc(ref, 0)
    messages = hv.domain_get_messages(ref, 0)
    assert len(messages) == 1 and "frobnicate" in messages[0]


def test_bad_flags_are_invalid_arg(hv) -> None:
    assert code_of(hv.domain_define_xml_flags, domain_xml(), 1 << 8) == VIR_ERR_INVALID_ARG


def test_lookup_failures(hv) -> None:
    assert code_of(hv.domain_lookup_by_name, "nope") == VIR_ERR_NO_DOMAIN
    assert code_of(hv.domain_lookup_by_uuid, b"\0" * 16) == VIR_ERR_NO_DOMAIN
    assert code_of(hv.domain_lookup_by_id, 7) == VIR_ERR_NO_DOMAIN


def test_undefine_removes_file_and_autostart(tmp_path: Path, hv) -> None:
    ref = hv.domain_define_xml_flags(domain_xml(), 0)
    hv.domain_set_autostart(ref, True)
    assert hv.domain_get_autostart(ref)
    assert (tmp_path / "etc/qemu/autostart/vm1.xml").is_symlink()
    hv.domain_undefine_flags(ref, 0)
    assert not (tmp_path / "etc/qemu/vm1.xml").exists()
    assert not os.path.lexists(tmp_path / "etc/qemu/autostart/vm1.xml")
    assert code_of(hv.domain_lookup_by_name, "vm1") == VIR_ERR_NO_DOMAIN


def test_a_new_driver_instance_loads_definitions(tmp_path: Path, hv) -> None:
    ref = hv.domain_define_xml_flags(domain_xml(), 0)
    hv.domain_define_xml_flags(domain_xml("vm2", uuid=None), 0)
    (tmp_path / "etc/qemu/broken.xml").write_text("<domain")
    qdriver.forget_state_for_tests(hv.drv.dirs)
    fresh = open_hv(tmp_path)
    assert fresh.drv is not hv.drv
    names = sorted(r.name for r in fresh.connect_list_all_domains(0))
    assert names == ["vm1", "vm2"]
    assert fresh.domain_get_xml_desc(ref, 0) == hv.domain_get_xml_desc(ref, 0)
    fresh.connect_close()
    qdriver.forget_state_for_tests(fresh.drv.dirs)


def test_inactive_domain_operations_say_not_running(hv) -> None:
    ref = hv.domain_define_xml_flags(domain_xml(), 0)
    for call in (hv.domain_destroy, hv.domain_shutdown, hv.domain_suspend, hv.domain_resume,
                 hv.domain_managed_save):
        with pytest.raises(libvirtError) as info:
            call(ref)
        assert info.value.get_error_code() == VIR_ERR_OPERATION_INVALID
        assert "domain is not running" in info.value.get_error_message()
    assert code_of(hv.domain_reboot, ref, 0) == VIR_ERR_OPERATION_INVALID


# --- checks before QEMU starts ---------------------------------------------------------------
def test_kvm_where_it_does_not_work_is_config_unsupported(hv) -> None:
    hv.drv._host = dataclasses.replace(hv.drv.host(), kvm_usable=False,
                                       kvm_reason="a KVM guest hangs on this host")
    ref = hv.domain_define_xml_flags(domain_xml(virt="kvm"), 0)
    with pytest.raises(libvirtError) as info:
        hv.domain_create_with_flags(ref, 0)
    assert info.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert "requires KVM" in info.value.get_error_message()
    assert "hangs" in info.value.get_error_message()
    assert hv.domain_get_state(ref)[0] == DomainState.SHUTOFF


def test_missing_kernel_is_reported_before_starting(tmp_path: Path, hv) -> None:
    xml = domain_xml().replace("</type>", f"</type><kernel>{tmp_path}/no-kernel</kernel>")
    ref = hv.domain_define_xml_flags(xml, 0)
    with pytest.raises(libvirtError) as info:
        hv.domain_create_with_flags(ref, 0)
    assert info.value.get_error_code() == VIR_ERR_SYSTEM_ERROR
    assert info.value.get_error_message() == \
        f"unable to stat: {tmp_path}/no-kernel: No such file or directory"
    assert [p.name for p in (tmp_path / "run/qemu").iterdir()] == ["driver.pid"]
    assert hv.domain_get_state(ref) == [DomainState.SHUTOFF, n.ShutoffReason.FAILED]


def test_missing_disk_is_reported_before_starting(tmp_path: Path, hv) -> None:
    disk = (f"<disk type='file' device='disk'><source file='{tmp_path}/gone.img'/>"
            "<target dev='vda' bus='virtio'/></disk>")
    ref = hv.domain_define_xml_flags(domain_xml(devices=disk), 0)
    with pytest.raises(libvirtError) as info:
        hv.domain_create_with_flags(ref, 0)
    assert "Cannot access storage file" in info.value.get_error_message()
    assert "gone.img" in info.value.get_error_message()


def test_transient_create_failure_leaves_no_domain(tmp_path: Path, hv) -> None:
    xml = domain_xml().replace("</type>", f"</type><kernel>{tmp_path}/none</kernel>")
    assert code_of(hv.domain_create_xml, xml, 0) == VIR_ERR_SYSTEM_ERROR
    assert hv.connect_list_all_domains(0) == []


def test_save_header_round_trip_and_bad_magic(tmp_path: Path) -> None:
    from pyvirt.drivers.qemu import save

    image = tmp_path / "img"
    offset = save.write_save_header(str(image), "<domain/>", True)
    assert offset % 4096 == 0 and image.stat().st_size == offset
    assert save.read_save_header(str(image)) == ("<domain/>", True, offset)
    image.write_bytes(b"x" * 64)
    with pytest.raises(libvirtError) as info:
        save.read_save_header(str(image))
    assert "image magic is incorrect" in info.value.get_error_message()


def test_state_words_round_trip() -> None:
    from pyvirt.drivers.qemu import lifecycle

    for state, reason in ((DomainState.RUNNING, n.RunningReason.RESTORED),
                          (DomainState.PAUSED, n.PausedReason.USER),
                          (DomainState.SHUTDOWN, 1)):
        words = lifecycle.state_to_words(state, reason)
        assert lifecycle.state_from_words(*words) == (state, reason)


def test_status_dirs_for_uri_used_by_open(tmp_path: Path, hv) -> None:
    assert hv.drv.dirs == state_dir.dirs_for_root(tmp_path)


def test_config_memory_and_vcpus_of_an_inactive_domain(tmp_path: Path, hv) -> None:
    ref = hv.domain_define_xml_flags(domain_xml(), 0)
    hv.domain_set_memory_flags(ref, 65536, n.AFFECT_CONFIG)
    assert "<currentMemory unit='KiB'>65536</currentMemory>" in \
        (tmp_path / "etc/qemu/vm1.xml").read_text()
    assert code_of(hv.domain_set_memory_flags, ref, 1 << 30, n.AFFECT_CONFIG) \
        == VIR_ERR_INVALID_ARG
    hv.domain_set_memory_flags(ref, 262144, n.AFFECT_CONFIG | n.MEM_MAXIMUM)
    assert hv.domain_get_max_memory(ref) == 262144
    assert code_of(hv.domain_set_memory_flags, ref, 1024, n.AFFECT_LIVE) \
        == VIR_ERR_OPERATION_INVALID
    assert hv.domain_get_vcpus_flags(ref, n.AFFECT_CONFIG | n.VCPU_MAXIMUM) == 1



# --- what `virsh -c qemu:///embed?root=DIR define; dumpxml` prints (libvirt 9.0) ----------
# Captured from the real qemu driver (with libvirt's implicit <audio id='1' type='none'/>).
REAL_LIBVIRT_CASES = [
    ("""<domain type='qemu'>
  <name>cmp1</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/work/main/var/guest/vmlinuz</kernel>
    <initrd>/work/main/var/guest/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <devices>
    <serial type='file'><source path='/tmp/qd/cmp1.console'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>""",
     """<domain type='qemu'>
  <name>cmp1</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <kernel>/work/main/var/guest/vmlinuz</kernel>
    <initrd>/work/main/var/guest/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
    <boot dev='hd'/>
  </os>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>qemu64</model>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' index='0' model='piix3-uhci'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>
    </controller>
    <controller type='pci' index='0' model='pci-root'/>
    <serial type='file'>
      <source path='/tmp/qd/cmp1.console'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
    </serial>
    <console type='file'>
      <source path='/tmp/qd/cmp1.console'/>
      <target type='serial' port='0'/>
    </console>
    <input type='mouse' bus='ps2'/>
    <input type='keyboard' bus='ps2'/>
    <audio id='1' type='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
"""),
    ("""<domain type='qemu'><name>cmp4</name><uuid>0b3b1f2e-3c41-4d7a-9a55-2f1f0d5e8a01</uuid><memory unit='MiB'>128</memory>
<os><type arch='x86_64'>hvm</type></os>
<devices>
<memballoon model='virtio'/>
<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
<watchdog model='i6300esb'/>
<disk type='file' device='disk'><source file='/tmp/qd/d.qcow2'/><target dev='vdb' bus='virtio'/></disk>
<disk type='file' device='disk'><source file='/tmp/qd/d2.qcow2'/><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='disk'><source file='/tmp/qd/d3.qcow2'/><target dev='sdb' bus='scsi'/></disk>
<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>
<interface type='user'><mac address='52:54:00:00:00:02'/><model type='e1000'/></interface>
<controller type='virtio-serial'/>
<input type='tablet' bus='usb'/>
<input type='keyboard' bus='virtio'/>
<graphics type='vnc'/>
<video><model type='cirrus'/></video>
</devices></domain>""",
     """<domain type='qemu'>
  <name>cmp4</name>
  <uuid>0b3b1f2e-3c41-4d7a-9a55-2f1f0d5e8a01</uuid>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>qemu64</model>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/tmp/qd/d2.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/tmp/qd/d.qcow2'/>
      <target dev='vdb' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x08' function='0x0'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/tmp/qd/d3.qcow2'/>
      <target dev='sdb' bus='scsi'/>
      <address type='drive' controller='0' bus='0' target='0' unit='1'/>
    </disk>
    <controller type='virtio-serial' index='0'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </controller>
    <controller type='usb' index='0' model='piix3-uhci'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>
    </controller>
    <controller type='pci' index='0' model='pci-root'/>
    <controller type='scsi' index='0' model='lsilogic'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>
    </controller>
    <interface type='user'>
      <mac address='52:54:00:00:00:01'/>
      <model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
    <interface type='user'>
      <mac address='52:54:00:00:00:02'/>
      <model type='e1000'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </interface>
    <input type='tablet' bus='usb'>
      <address type='usb' bus='0' port='1'/>
    </input>
    <input type='keyboard' bus='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x0c' function='0x0'/>
    </input>
    <input type='mouse' bus='ps2'/>
    <input type='keyboard' bus='ps2'/>
    <graphics type='vnc' port='-1' autoport='yes'>
      <listen type='address'/>
    </graphics>
    <audio id='1' type='none'/>
    <video>
      <model type='cirrus' vram='16384' heads='1' primary='yes'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </video>
    <watchdog model='i6300esb' action='reset'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x0b' function='0x0'/>
    </watchdog>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x09' function='0x0'/>
    </memballoon>
    <rng model='virtio'>
      <backend model='random'>/dev/urandom</backend>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x0a' function='0x0'/>
    </rng>
  </devices>
</domain>
"""),
]


@pytest.mark.parametrize("given, expected", REAL_LIBVIRT_CASES, ids=["kernel-boot", "devices"])
def test_define_matches_real_libvirt_qemu_driver(hv, given: str, expected: str) -> None:
    ref = hv.domain_define_xml_flags(given, 0)
    assert hv.domain_get_xml_desc(ref, 0) == expected


def test_capabilities_list_kvm_only_where_it_works(hv) -> None:
    hv.drv._host = dataclasses.replace(hv.drv.host(), kvm_usable=False)
    caps = hv.connect_get_capabilities()
    assert "<arch name='x86_64'>" in caps and "<domain type='qemu'/>" in caps
    assert "<domain type='kvm'/>" not in caps
    assert "<machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>" in caps
    hv.drv._host = dataclasses.replace(hv.drv.host(), kvm_usable=True)
    assert "<domain type='kvm'/>" in hv.connect_get_capabilities()


def test_pci_slots_skip_addresses_the_document_fixed(hv) -> None:
    devices = ("<disk type='file' device='disk'><source file='/a.img'/>"
               "<target dev='vda' bus='virtio'/>"
               "<address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>"
               "</disk><disk type='file' device='disk'><source file='/b.img'/>"
               "<target dev='vdb' bus='virtio'/></disk><memballoon model='virtio'/>")
    ref = hv.domain_define_xml_flags(domain_xml(devices=devices), 0)
    xml = hv.domain_get_xml_desc(ref, 0)
    slots = re.findall(r"<target dev='(vd.)'.*?slot='(0x..)'", xml, re.S)
    assert slots == [("vda", "0x02"), ("vdb", "0x03")]
    assert re.search(r"<memballoon model='virtio'>\s*<address [^>]*slot='0x04'", xml)


def test_live_aliases_follow_libvirt_names() -> None:
    from pyvirt.drivers.qemu import lifecycle
    from pyvirt.drivers.qemu.defaults import parse_definition

    live = parse_definition(domain_xml(devices=(
        "<disk type='file' device='disk'><source file='/a'/><target dev='vdb' bus='virtio'/>"
        "</disk><disk type='file' device='disk'><source file='/b'/>"
        "<target dev='sda' bus='sata'/></disk><serial type='pty'/>"
        "<memballoon model='virtio'/>")))[0]
    lifecycle.assign_aliases(live)
    names = [(el.getparent().tag, el.get("name")) for el in live.node.iter("alias")]
    assert names == [("disk", "virtio-disk1"), ("disk", "sata0-0-0"), ("controller", "usb"),
                     ("controller", "pci.0"), ("controller", "sata0"), ("serial", "serial0"),
                     ("console", "serial0"), ("input", "input0"), ("input", "input1"),
                     ("memballoon", "balloon0")]


def test_a_second_process_cannot_drive_the_same_root(tmp_path: Path, hv) -> None:
    import subprocess
    import sys

    child = subprocess.run(
        [sys.executable, "-c",
         "import sys\nfrom pyvirt import uri\nfrom pyvirt.drivers.qemu.driver import QemuDriver\n"
         "from pyvirt.errors import libvirtError\n"
         "try:\n    QemuDriver().open(uri.parse(sys.argv[1]), 0, False)\n"
         "except libvirtError as e:\n    print(e.get_error_code(), e.get_error_message())\n",
         f"qemu:///embed?root={tmp_path}"], capture_output=True, text=True, timeout=60)
    assert child.stdout.strip() == (
        f"38 Failed to acquire pid file '{tmp_path}/run/qemu/driver.pid': "
        "Resource temporarily unavailable")


def test_domain_capabilities_tell_whether_kvm_works(hv) -> None:
    hv.drv._host = dataclasses.replace(hv.drv.host(), kvm_usable=False,
                                       kvm_reason="a KVM guest hangs on this host")
    caps = hv.connect_get_domain_capabilities(None, None, "pc", "qemu", 0)
    assert "<domain>qemu</domain>" in caps and "<machine>pc-i440fx-7.2</machine>" in caps
    assert "<mode name='host-passthrough' supported='no'/>" in caps
    with pytest.raises(libvirtError) as info:
        hv.connect_get_domain_capabilities(None, None, None, "kvm", 0)
    assert info.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert "KVM is not supported" in info.value.get_error_message()
    assert "hangs" in info.value.get_error_message()
    assert code_of(hv.connect_get_domain_capabilities, None, "aarch64", None, None, 0) \
        == VIR_ERR_CONFIG_UNSUPPORTED
    assert code_of(hv.connect_get_domain_capabilities, None, None, "nope", None, 0) \
        == VIR_ERR_INVALID_ARG
