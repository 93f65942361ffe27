"""xml2argv: a domain definition to QEMU's argv, compared with golden files.

tests/data/qemu/xml2argv/NAME.xml → NAME.args (one option and its value per
line). Set PYVIRT_REGEN_GOLDEN=1 to rewrite the .args files after a deliberate
change, then review the diff.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from pyvirt.conf.domain import DomainDef
from pyvirt.drivers.qemu.command import QemuCaps, build_argv
from pyvirt.drivers.qemu.paths import RunPaths
from pyvirt.errors import (VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                           libvirtError)

DATA = Path(__file__).resolve().parents[2] / "data" / "qemu" / "xml2argv"
TCG = QemuCaps()
KVM = QemuCaps(kvm_usable=True)
CAPS_BY_CASE = {"kvm": KVM}
TAPS_BY_CASE = {"net": (21, 22)}


def paths_for(name: str) -> RunPaths:
    paths = RunPaths.under(f"/run/pyvirt/qemu/{name}")
    return RunPaths(paths.run_dir, paths.monitor, paths.log, None, TAPS_BY_CASE.get(name, ()))


def format_args(argv: list[str]) -> str:
    """One option per line, its value beside it, ending in `` \\`` like libvirt's files."""
    lines: list[str] = [shlex.quote(argv[0])]
    i = 1
    while i < len(argv):
        item = shlex.quote(argv[i])
        if i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            item += " " + shlex.quote(argv[i + 1])
            i += 1
        lines.append(item)
        i += 1
    return " \\\n".join(lines) + "\n"


CASES = sorted(p.stem for p in DATA.glob("*.xml"))


@pytest.mark.parametrize("name", CASES)
def test_xml2argv(name):
    dom = DomainDef.from_xml((DATA / f"{name}.xml").read_text())
    argv = build_argv(dom, CAPS_BY_CASE.get(name, TCG), paths_for(name))
    got = format_args(argv)
    golden = DATA / f"{name}.args"
    if os.environ.get("PYVIRT_REGEN_GOLDEN"):
        golden.write_text(got)
    assert got == golden.read_text()


def test_every_case_has_a_golden_file():
    assert CASES and all((DATA / f"{c}.args").exists() for c in CASES)


def test_the_monitor_is_passed_as_an_fd_when_one_is_given():
    dom = DomainDef.from_xml((DATA / "minimal.xml").read_text())
    argv = build_argv(dom, TCG, RunPaths.under("/run/x", monitor_fd=7))
    i = argv.index("-chardev")
    assert argv[i + 1] == "socket,id=charmonitor,fd=7,server=on,wait=off"
    assert argv[argv.index("-mon") + 1] == "chardev=charmonitor,id=monitor,mode=control"
    assert "-S" in argv


BASE = """<domain type='{type}'><name>x</name><memory unit='MiB'>128</memory>
<os><type arch='x86_64' machine='{machine}'>hvm</type></os><devices>{devices}</devices></domain>"""


def refused(devices: str = "", *, type: str = "qemu", machine: str = "pc",
            caps: QemuCaps = TCG) -> libvirtError:
    dom = DomainDef.from_xml(BASE.format(type=type, machine=machine, devices=devices))
    with pytest.raises(libvirtError) as exc:
        build_argv(dom, caps, RunPaths.under("/run/x"))
    return exc.value


@pytest.mark.parametrize("devices, words", [
    ("<sound model='ich6'/>", "<sound> devices are not supported"),
    ("<hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/><product id='0x2'/>"
     "</source></hostdev>", "<hostdev> devices are not supported"),
    ("<disk type='network' device='disk'><source protocol='nbd' name='x'>"
     "<host name='h'/></source><target dev='vda'/></disk>", "<disk type='network'>"),
    ("<disk type='file'><driver name='qemu' type='vmdk'/><source file='/a'/>"
     "<target dev='vda' bus='virtio'/></disk>", "disk format 'vmdk'"),
    ("<interface type='direct'><source dev='eth0' mode='bridge'/></interface>",
     "<interface type='direct'>"),
    ("<disk type='file'><source file='/a'/><target dev='hda' bus='ide'/><readonly/></disk>",
     "readonly ide disks are not supported"),
    ("<graphics type='spice'/>", "<graphics type='spice'>"),
    ("<watchdog model='i6300esb' action='dump'/>", "watchdog action 'dump'"),
])
def test_unsupported_configuration_names_the_element(devices, words):
    err = refused(devices)
    assert err.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert err.get_error_domain() == VIR_FROM_QEMU
    assert str(err).startswith("unsupported configuration: ")
    assert words in str(err)


@pytest.mark.parametrize("fragment, words", [
    ("<os><type arch='x86_64' machine='pc'>hvm</type><loader readonly='yes' type='pflash'>"
     "/usr/share/OVMF/OVMF_CODE.fd</loader></os>", "<os><loader>"),
    ("<os firmware='efi'><type arch='x86_64' machine='pc'>hvm</type></os>",
     "<os firmware='efi'>"),
    ("<os><type arch='x86_64' machine='pc'>hvm</type></os>"
     "<memoryBacking><hugepages/></memoryBacking>", "<memoryBacking>"),
    ("<os><type arch='x86_64' machine='pc'>hvm</type></os>"
     "<numatune><memory mode='strict' nodeset='0'/></numatune>", "<numatune>"),
])
def test_domain_level_config_this_driver_cannot_express_is_refused(fragment, words):
    xml = (f"<domain type='qemu'><name>x</name><memory unit='MiB'>128</memory>{fragment}"
           "</domain>")
    with pytest.raises(libvirtError) as exc:
        build_argv(DomainDef.from_xml(xml), TCG, RunPaths.under("/run/x"))
    assert exc.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert words in str(exc.value)


def test_kvm_without_a_usable_kvm_is_refused_with_libvirts_message():
    err = refused(type="kvm")
    assert str(err) == (
        "unsupported configuration: Domain requires KVM, but it is not available. Check "
        "that virtualization is enabled in the host BIOS, and host configuration is setup "
        "to load the kvm modules.")


def test_ide_on_q35_is_refused():
    err = refused("<disk type='file'><source file='/a'/><target dev='hda' bus='ide'/></disk>",
                  machine="q35")
    assert "IDE controllers are unsupported" in str(err)


def test_an_unknown_machine_is_refused():
    err = refused(machine="virt")
    assert "does not support machine type 'virt'" in str(err)


def test_a_tap_interface_needs_a_prepared_fd():
    err = refused("<interface type='network'><source network='default'/></interface>")
    assert err.get_error_code() == VIR_ERR_INTERNAL_ERROR
    assert "no tap device was prepared for interface 0" in str(err)


def test_a_restore_reads_the_incoming_stream_from_the_fd_it_was_given():
    dom = DomainDef.from_xml((DATA / "minimal.xml").read_text())
    plain = build_argv(dom, TCG, RunPaths.under("/run/x"))
    paths = RunPaths.under("/run/x", monitor_fd=7)
    paths = RunPaths(paths.run_dir, paths.monitor, paths.log, 7, (), incoming_fd=9)
    argv = build_argv(dom, TCG, paths)
    assert "-incoming" not in plain
    assert argv[argv.index("-incoming") + 1] == "fd:9"
    assert argv.index("-incoming") < argv.index("-sandbox")


def test_the_sandbox_stays_strict_and_the_guest_power_off_is_ours():
    argv = build_argv(DomainDef.from_xml((DATA / "minimal.xml").read_text()), TCG,
                      RunPaths.under("/run/x"))
    assert "spawn=deny" in argv[argv.index("-sandbox") + 1]
    assert "-no-shutdown" in argv


@pytest.mark.parametrize("audio, message", [
    ("<audio id='1' type='pulseaudio'/>", "<audio type='pulseaudio'> is not supported"),
    ("<audio id='1' type='none'/><audio id='2' type='none'/>", "more than one <audio>"),
])
def test_audio_backends_other_than_none_are_refused(audio, message):
    err = refused(audio)
    assert err.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert message in err.get_error_message()
