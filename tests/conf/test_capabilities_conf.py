"""Capabilities: the test driver's fixed document (captured from real libvirt 9.0), parse/format."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirt.conf.capabilities import (
    Capabilities, GuestCaps, GuestDomain, GuestFeature, GuestMachine, HostCaps, HostCPU,
    MigrationFeatures, SecModel, test_driver_capabilities, test_driver_capabilities_model,
)
from pyvirt.errors import libvirtError

DATA = Path(__file__).parent.parent / "data" / "conf" / "capabilities"


def read(name: str) -> str:
    return (DATA / name).read_text()


def test_test_driver_capabilities_equal_real_libvirt() -> None:
    # captured with: python3 -c "import libvirt; print(libvirt.open('test:///default')
    #                 .getCapabilities(), end='')"
    assert test_driver_capabilities() == read("test-driver.xml")


def test_test_driver_on_a_custom_file_has_no_cells() -> None:
    # captured from libvirt.open('test:///.../node.xml') on a file holding only <node/>
    assert test_driver_capabilities(custom_file=True) == read("test-driver-custom-file.xml")


def test_test_driver_model_facts() -> None:
    caps = test_driver_capabilities_model()
    assert caps.host.cpu.arch == "i686"
    assert caps.host.memory_kib == 6291456
    assert [len(c.cpus) for c in caps.host.cells] == [8, 8]
    assert [(g.os_type, g.arch, g.wordsize) for g in caps.guests] == [
        ("hvm", "i686", 32), ("xen", "i686", 32)]


@pytest.mark.parametrize("name", ["test-driver.xml", "kvm-host.xml"])
def test_parse_then_format_round_trips(name: str) -> None:
    assert Capabilities.from_xml(read(name)).to_xml() == read(name)


def test_parse_reads_host_and_guests() -> None:
    caps = Capabilities.from_xml(read("kvm-host.xml"))
    host = caps.host
    assert host.uuid == "4c4c4544-0051-3010-8057-b4c04f4e4d32"
    assert (host.cpu.model, host.cpu.vendor, host.cpu.microcode) == (
        "Skylake-Client-IBRS", "Intel", 240)
    assert host.cpu.signature == (6, 142, 10)
    assert host.cpu.counter == ("tsc", 2111998000, "no")
    topo = host.cpu.topology
    assert (topo.sockets, topo.dies, topo.cores, topo.threads) == (1, 1, 4, 2)
    assert host.cpu.maxphysaddr == ("emulate", 39)
    assert host.cpu.features == ["vmx", "invtsc"]
    assert host.cpu.pages_kib == [4, 2048]
    assert host.power_management == ["suspend_mem", "suspend_disk"]
    assert host.iommu is True
    assert host.migration == MigrationFeatures(live=True, uri_transports=["tcp", "rdma"])
    cell = host.cells[0]
    assert (cell.memory_kib, cell.pages, cell.distances) == (
        16303936, [(4, 4075984), (2048, 0)], [(0, 10)])
    assert [(c.id, c.core_id, c.siblings) for c in cell.cpus] == [(0, 0, "0,4"),
                                                                  (1, 1, "1,5")]
    assert host.secmodels[1] == SecModel("dac", "0", [("kvm", "+64055:+994"),
                                                      ("qemu", "+64055:+994")])
    x86 = caps.guests[0]
    assert x86.machines[1] == GuestMachine("pc", "pc-i440fx-7.2", 255, None)
    assert x86.machines[2].deprecated is True
    assert x86.features[0] == GuestFeature("acpi", True, True)
    assert x86.features[2] == GuestFeature("cpuselection")
    assert caps.guests[1].loader == "/usr/share/AAVMF/AAVMF_CODE.fd"


def test_guest_lookup_and_emulator() -> None:
    caps = Capabilities.from_xml(read("kvm-host.xml"))
    kvm = caps.guest_lookup(os_type="hvm", arch="x86_64", domain_type="kvm")
    assert kvm is caps.guests[0]
    assert caps.emulator_for(kvm, "kvm") == "/usr/bin/kvm"
    assert caps.emulator_for(kvm, "qemu") == "/usr/bin/qemu-system-x86_64"
    assert caps.guest_lookup(arch="aarch64", domain_type="kvm") is None
    assert caps.guest_lookup(os_type="xen") is None


def test_minimal_host_formats_like_libvirt() -> None:
    caps = Capabilities(host=HostCaps(cpu=HostCPU(arch="x86_64"), power_management=None,
                                      iommu=None, cells=[]))
    assert caps.to_xml() == (
        "<capabilities>\n\n  <host>\n    <cpu>\n      <arch>x86_64</arch>\n    </cpu>\n"
        "    <topology>\n      <cells num='0'>\n      </cells>\n    </topology>\n"
        "  </host>\n\n</capabilities>\n")


def test_guest_without_features_and_domain_with_emulator_only() -> None:
    guest = GuestCaps("exe", "x86_64", 64, domains=[GuestDomain("lxc", "/usr/libexec/init")])
    caps = Capabilities(host=HostCaps(cpu=HostCPU(arch="x86_64"),
                                      migration=MigrationFeatures(live=False)),
                        guests=[guest])
    out = caps.to_xml()
    assert "    <migration_features>\n    </migration_features>\n" in out
    assert ("      <domain type='lxc'>\n        <emulator>/usr/libexec/init</emulator>\n"
            "      </domain>\n    </arch>\n  </guest>\n") in out
    assert Capabilities.from_xml(out).to_xml() == out


@pytest.mark.parametrize(("xml", "message"), [
    ("<domain/>", "XML error: expecting root element of 'capabilities', not 'domain'"),
    ("<capabilities><host/></capabilities>",
     "XML error: missing host CPU arch in capabilities"),
])
def test_parse_errors(xml: str, message: str) -> None:
    with pytest.raises(libvirtError) as info:
        Capabilities.from_xml(xml)
    assert info.value.get_error_code() == 27
    assert info.value.get_error_message() == message
