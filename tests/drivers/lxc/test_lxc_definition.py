"""Container XML as the LXC driver reads it: checks, defaults, spec, capabilities."""

from __future__ import annotations

import pytest
from lxml import etree

from pyvirt.drivers.lxc import definition
from pyvirt.drivers.lxc.spec import ContainerSpec, hostname_for, spec_from_def
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_XML_ERROR, VIR_FROM_LXC, libvirtError,
)

CT = """<domain type='lxc'>
  <name>web_1</name>
  <memory unit='MiB'>64</memory>
  <os><type>exe</type>{init}</os>
  {idmap}
  <devices>
    <filesystem type='mount'><source dir='/srv/root'/><target dir='/'/></filesystem>
    <filesystem type='mount'><source dir='/srv/data'/><target dir='/data'/><readonly/></filesystem>
    {extra}
    <console type='pty'/>
  </devices>
</domain>"""

IDMAP = ("<idmap><uid start='0' target='100000' count='65536'/>"
         "<gid start='0' target='100000' count='65536'/></idmap>")


def ct(init: str = "<init>/sbin/ct-init</init><initarg>-v</initarg><initarg>x y</initarg>",
       idmap: str = IDMAP, extra: str = "") -> str:
    return CT.format(init=init, idmap=idmap, extra=extra)


def parse(xml: str):
    return definition.parse_definition(xml, own_uids={0}, own_gids={0})


def test_container_is_normalized_like_libvirt_lxc():
    ddef = parse(ct())
    root = etree.fromstring(ddef.to_xml())
    assert root.get("type") == "lxc"
    assert root.find("os/type").text == "exe"
    assert root.find("os/type").get("arch") == definition.host_arch()
    assert root.findtext("resource/partition") == "/machine"
    assert root.find("devices/console/target").attrib == {"type": "lxc", "port": "0"}
    assert root.find("devices/filesystem").get("accessmode") == "passthrough"
    assert root.find("devices")[0].tag == "emulator"
    assert root.findtext("devices/emulator") == "/usr/lib/libvirt/libvirt_lxc"
    assert root.findtext("memory") == "65536"
    assert ddef.uuid


def test_default_init_is_sbin_init_when_a_root_filesystem_is_given():
    ddef = parse(ct(init=""))
    node = ddef.node.find("os")
    assert [c.tag for c in node] == ["type", "init"]
    assert node.findtext("init") == "/sbin/init"


@pytest.mark.parametrize("xml", [
    "<domain type='kvm'><name>q</name><memory>1024</memory><os><type>hvm</type></os></domain>",
    "<domain type='qemu'><name>q</name><memory>1024</memory><os><type>hvm</type></os></domain>",
    "<domain type='lxc'><name>q</name><memory>1024</memory><os><type>hvm</type></os></domain>",
])
def test_qemu_style_xml_is_config_unsupported(xml):
    with pytest.raises(libvirtError) as info:
        parse(xml)
    err = info.value
    assert err.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert err.get_error_domain() == VIR_FROM_LXC
    assert "LXC driver runs containers" in str(err)
    assert "<os><type>exe</type>" in str(err)


def test_host_device_is_refused():
    extra = ("<hostdev mode='capabilities' type='misc'><source><char>/dev/sda</char>"
             "</source></hostdev>")
    with pytest.raises(libvirtError) as info:
        parse(ct(extra=extra))
    assert info.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert "host device" in str(info.value)


def test_disk_is_refused():
    extra = "<disk type='file' device='disk'><source file='/x.img'/><target dev='vda'/></disk>"
    with pytest.raises(libvirtError, match="does not support <disk>"):
        parse(ct(extra=extra))


def test_non_mount_filesystem_is_refused():
    extra = "<filesystem type='ram'><source usage='1024'/><target dir='/tmp'/></filesystem>"
    with pytest.raises(libvirtError, match="Unexpected filesystem type ram"):
        parse(ct(extra=extra))


def test_only_network_and_bridge_interfaces():
    extra = "<interface type='user'><mac address='52:54:00:00:00:01'/></interface>"
    with pytest.raises(libvirtError, match="Unsupported network type user"):
        parse(ct(extra=extra))


def test_idmap_onto_the_hosts_own_ids_is_refused():
    idmap = ("<idmap><uid start='0' target='0' count='65536'/>"
             "<gid start='0' target='100000' count='65536'/></idmap>")
    with pytest.raises(libvirtError) as info:
        parse(ct(idmap=idmap))
    assert info.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert "overlaps the host's own uid 0" in str(info.value)


def test_idmap_must_map_root_and_both_kinds():
    no_root = ("<idmap><uid start='1' target='100000' count='10'/>"
               "<gid start='0' target='100000' count='10'/></idmap>")
    with pytest.raises(libvirtError) as info:
        parse(ct(idmap=no_root))
    assert info.value.get_error_code() == VIR_ERR_XML_ERROR
    assert "You must map the root user of container" in str(info.value)
    only_uid = "<idmap><uid start='0' target='100000' count='10'/></idmap>"
    with pytest.raises(libvirtError, match="both uids and gids"):
        parse(ct(idmap=only_uid))


def test_spec_from_definition():
    ddef = parse(ct())
    spec = spec_from_def(ddef, console_socket="/run/x.console", log_path="/log/x.log")
    assert spec.root == "/srv/root" and not spec.root_readonly
    assert [(m.source, m.target, m.readonly) for m in spec.mounts] == [
        ("/srv/data", "/data", True)]
    assert spec.init == "/sbin/ct-init"
    assert spec.initargs == ["-v", "x y"]
    assert [r.line() for r in spec.uid_map] == ["0 100000 65536"]
    assert spec.user_namespace
    assert spec.hostname == "web1"
    assert spec.env["container"] == "lxc-libvirt"
    assert spec.env["LIBVIRT_LXC_NAME"] == "web_1"
    assert not spec.private_network
    again = ContainerSpec.from_json(spec.to_json())
    assert again == spec


def test_spec_private_network_from_privnet_or_interfaces():
    xml = ct().replace("<devices>", "<features><privnet/></features><devices>")
    assert spec_from_def(parse(xml)).private_network
    nic = "<interface type='bridge'><source bridge='br0'/></interface>"
    assert spec_from_def(parse(ct(extra=nic))).private_network


def test_hostname_is_sanitized():
    assert hostname_for("a_b c.d") == "abcd"
    assert hostname_for("-x-y") == "x-y"
    assert hostname_for("___") == ""


def test_capabilities_report_exe_for_lxc():
    caps = etree.fromstring(definition.capabilities_xml("00000000-0000-0000-0000-000000000001",
                                                        "x86_64"))
    guest = caps.find("guest")
    assert guest.findtext("os_type") == "exe"
    assert guest.find("arch").get("name") == "x86_64"
    assert guest.find("arch/domain").get("type") == "lxc"
    assert caps.findtext("host/cpu/arch") == "x86_64"


def test_memory_limit_and_cputune():
    xml = ct().replace("<os>", "<memtune><hard_limit unit='MiB'>32</hard_limit></memtune>"
                       "<cputune><shares>512</shares><period>100000</period>"
                       "<quota>50000</quota></cputune><os>")
    ddef = parse(xml)
    assert definition.memory_limit_kib(ddef) == 32768
    assert definition.cputune(ddef) == (512, 100000, 50000)
    assert definition.memory_limit_kib(parse(ct())) == 65536


def test_set_cputune_in_libvirts_order():
    ddef = parse(ct())
    definition.set_cputune(ddef, None, 100000, 20000)
    definition.set_cputune(ddef, 256, None, None)
    node = ddef.node.find("cputune")
    assert [(c.tag, c.text) for c in node] == [("shares", "256"), ("period", "100000"),
                                                ("quota", "20000")]
    assert node.getprevious().tag == "vcpu"
    assert definition.cputune(ddef) == (256, 100000, 20000)
