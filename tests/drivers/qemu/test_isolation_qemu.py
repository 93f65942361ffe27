"""The QEMU driver's isolation pieces without a guest: qemu.conf, backing chains,
directory traversal, the tuning and security entry points on a defined domain."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pyvirt import uri as urimod
from pyvirt.drivers.qemu import config as qconfig, driver as qdriver, isolation
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.errors import (
    VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_CONF_SYNTAX, VIR_ERR_INVALID_ARG,
    VIR_ERR_OPERATION_INVALID, VIR_ERR_XML_ERROR, libvirtError,
)
from pyvirt.objects import numbers as n
from pyvirt.security.dac import SEARCH
from pyvirt.security.seclabel import Owner
from pyvirt.security.traverse import ancestors, traversal_actions

TUNED = ("<memtune><hard_limit unit='MiB'>256</hard_limit></memtune>"
         "<cputune><shares>512</shares><period>100000</period><quota>50000</quota></cputune>")


def domain_xml(name: str = "vm1", extra: str = "", devices: str = "") -> str:
    return (f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory>"
            f"<vcpu>2</vcpu>{extra}<os><type arch='x86_64'>hvm</type></os>"
            f"<devices>{devices}</devices></domain>")


@pytest.fixture
def hv(tmp_path: Path):
    table = QemuDriver().open(urimod.parse(f"qemu:///embed?root={tmp_path}"), 0,
                              False).hypervisor
    yield table
    table.connect_close()
    qdriver.forget_state_for_tests(table.drv.dirs)


def code_of(call, *args) -> int:
    with pytest.raises(libvirtError) as info:
        call(*args)
    return info.value.get_error_code()


# --- qemu.conf ------------------------------------------------------------------------
def test_qemu_conf_keys_comments_and_defaults() -> None:
    values = qconfig.parse('# who runs QEMU\nuser = "+107"  # numeric\ngroup = "kvm"\n'
                           "\ndynamic_ownership = 0\n")
    assert values == {"user": "+107", "group": "kvm", "dynamic_ownership": 0}
    conf = qconfig.from_values({"user": "+107", "group": "+108"})
    assert conf.owner_text == "+107:+108" and conf.dynamic_ownership and not conf.allow_root
    assert qconfig.from_values({"user": "root", "group": "root"}).allow_root
    # the default user, or nobody:nogroup on a host without it
    default = qconfig.from_values({})
    assert default.user in (qconfig.DEFAULT_USER, qconfig.FALLBACK_USER)
    assert code_of(qconfig.parse, "user qemu\n") == VIR_ERR_CONF_SYNTAX


def test_qemu_conf_is_read_from_the_embedded_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "qemu.conf").write_text('user = "+4242"\ngroup = "+4243"\n')
    path = qconfig.config_path(tmp_path / "etc" / "qemu")
    assert path == tmp_path / "etc" / "qemu.conf"
    if os.geteuid() == 0:
        assert qconfig.load(path).owner_text == "+4242:+4243"
    assert qconfig.load(path, privileged=False).owner_text is None


def test_an_unprivileged_driver_has_no_identity_to_drop_to(tmp_path: Path) -> None:
    conf = qconfig.load(tmp_path / "none.conf", privileged=False)
    assert conf.user is None and conf.owner_text is None and not conf.dynamic_ownership


# --- files -------------------------------------------------------------------------------
def test_backing_chain_from_qcow2_headers(tmp_path: Path) -> None:
    base, mid, top = tmp_path / "base.qcow2", tmp_path / "mid.qcow2", tmp_path / "top.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "1M"], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F",
                    "qcow2", str(mid)], check=True)             # relative to its directory
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(mid), "-F",
                    "qcow2", str(top)], check=True)
    assert isolation.backing_chain(str(top)) == [str(mid), str(base)]
    assert isolation.backing_chain(str(base)) == []
    raw = tmp_path / "raw.img"
    raw.write_bytes(b"\0" * 512)
    assert isolation.backing_chain(str(raw)) == [] == isolation.backing_chain("/nonexistent")


def test_only_directories_the_guest_cannot_pass_get_a_search_entry(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    opened = closed / "open"
    opened.mkdir(parents=True)
    closed.chmod(0o700)
    opened.chmod(0o755)
    disk = opened / "d.img"
    assert ancestors(str(disk))[-2:] == [str(closed), str(opened)]
    actions = traversal_actions([str(disk)], Owner(61999, 61999))
    assert str(closed) in [a.path for a in actions]
    assert str(opened) not in [a.path for a in actions]
    assert all(a.access == SEARCH for a in actions)
    st = closed.stat()          # the directory's owner passes already
    assert str(closed) not in [a.path for a in traversal_actions([str(disk)],
                                                                 Owner(st.st_uid, 61999))]


def test_chardev_files_are_made_before_labelling(tmp_path: Path, hv) -> None:
    out = tmp_path / "serial.log"
    ddef = hv.drv.parse(domain_xml(devices=f"<serial type='file'><source path='{out}'/>"
                                          "</serial>"))[0]
    isolation.touch_chardev_files(ddef)
    assert out.exists() and (out.stat().st_mode & 0o777) == 0o600


# --- the XML keeps what the driver reads itself -------------------------------------------
def test_tuning_and_seclabel_survive_the_definition(hv) -> None:
    ref = hv.domain_define_xml_flags(domain_xml(
        extra=TUNED + "<blkiotune><weight>500</weight></blkiotune>",
        devices="") .replace("</devices>", "</devices><seclabel type='static' model='dac' "
                             "relabel='no'><label>+107:+107</label></seclabel>"), 0)
    xml = hv.domain_get_xml_desc(ref, 0)
    assert "<blkiotune>\n    <weight>500</weight>\n  </blkiotune>\n  <memtune>" in xml
    assert "<cputune>\n    <shares>512</shares>" in xml
    assert "<seclabel type='static' model='dac' relabel='no'>" in xml
    assert xml.index("</devices>") < xml.index("<seclabel")


def test_bad_tuning_or_seclabel_is_refused_at_define(hv) -> None:
    assert code_of(hv.domain_define_xml_flags, domain_xml(
        extra="<seclabel type='dynamic' model='dac' relabel='maybe'/>"), 0) == VIR_ERR_XML_ERROR


# --- entry points on a defined (inactive) domain ----------------------------------------
def test_security_model_and_label_of_an_inactive_domain(hv) -> None:
    ref = hv.domain_define_xml_flags(domain_xml(), 0)
    assert hv.node_get_security_model() == ["dac", "0"]
    assert hv.domain_get_security_label(ref) == ["", 0]
    assert hv.domain_get_security_label_list(ref) == [["", 0]]


def test_memory_scheduler_and_blkio_parameters_of_the_config(hv) -> None:
    ref = hv.domain_define_xml_flags(domain_xml(extra=TUNED), 0)
    mem = hv.domain_get_memory_parameters(ref, 0)
    assert mem == {"hard_limit": 262144, "soft_limit": 9007199254740991,
                   "swap_hard_limit": 9007199254740991}
    assert hv.domain_get_scheduler_type(ref) == ("posix", 9)
    sched = hv.domain_get_scheduler_parameters(ref)
    assert sched["cpu_shares"] == 512 and sched["vcpu_period"] == 100000
    assert sched["vcpu_quota"] == 50000 and list(sched)[0] == "cpu_shares"
    assert hv.domain_get_blkio_parameters(ref, 0)["weight"] == 0

    hv.domain_set_memory_parameters(ref, {"soft_limit": 131072}, n.AFFECT_CONFIG)
    hv.domain_set_scheduler_parameters_flags(ref, {"cpu_shares": 1024, "vcpu_quota": -1}, 0)
    xml = hv.domain_get_xml_desc(ref, 0)
    assert "<soft_limit unit='KiB'>131072</soft_limit>" in xml
    assert "<shares>1024</shares>" in xml and "<quota>" not in xml
    assert hv.domain_get_memory_parameters(ref, n.AFFECT_CONFIG)["soft_limit"] == 131072
    saved = (Path(hv.drv.dirs.config) / "vm1.xml").read_text()
    assert "<shares>1024</shares>" in saved


def test_parameter_errors_are_libvirts(hv) -> None:
    ref = hv.domain_define_xml_flags(domain_xml(), 0)
    assert code_of(hv.domain_set_memory_parameters, ref, {"bogus": 1}, 0) == \
        VIR_ERR_ARGUMENT_UNSUPPORTED
    assert code_of(hv.domain_set_scheduler_parameters, ref, {"cpu_shares": 1}) == \
        VIR_ERR_INVALID_ARG
    assert code_of(hv.domain_set_memory_parameters, ref, {"hard_limit": 1},
                   n.AFFECT_LIVE) == VIR_ERR_OPERATION_INVALID
    assert code_of(hv.domain_get_memory_parameters, ref,
                   n.AFFECT_LIVE | n.AFFECT_CONFIG) == VIR_ERR_INVALID_ARG
    assert code_of(hv.domain_get_memory_parameters, ref, 64) == VIR_ERR_INVALID_ARG


# --- NICs: traffic filter and port isolation on the tap -----------------------------------
NIC_DOM = """<domain type='qemu'><name>v</name><memory>65536</memory>
  <os><type arch='x86_64'>hvm</type></os><devices>
  <interface type='bridge'><source bridge='br0'/><target dev='tapa'/><port isolated='yes'/>
    <filterref filter='clean-traffic'><parameter name='IP' value='10.0.0.2'/></filterref>
  </interface>
  <interface type='bridge'><source bridge='br0'/><target dev='tapb'/></interface>
</devices></domain>"""


@pytest.fixture
def fake_nics(monkeypatch):
    """The network package's tap, filter and bridge-port calls, recorded."""
    import pyvirt.drivers.network as netpkg
    import pyvirt.network.bridge as bridge
    from pyvirt.drivers.qemu import peers

    calls: list[tuple] = []
    monkeypatch.setattr(netpkg, "attach_bridge_interface",
                        lambda br, mac, hint, want_fd=True: (hint, 7, br))
    monkeypatch.setattr(netpkg, "detach_guest_interface",
                        lambda tap, network=None: calls.append(("detach", tap)))

    def filter_nic(nic, tap, network=None):
        calls.append(("filter", tap, nic.find("filterref") is not None and
                      nic.find("filterref/parameter").get("value")
                      if nic.find("filterref") is not None else None))
        if nic.find("filterref") is not None and nic.find("filterref").get("filter") == "bad":
            raise libvirtError("no such filter")
    monkeypatch.setattr(netpkg, "filter_guest_interface", filter_nic)
    monkeypatch.setattr(bridge, "set_port_isolated", lambda tap: calls.append(("isolate", tap)))
    monkeypatch.setattr(peers, "close_fds", lambda fds: calls.append(("close", *fds)))
    return calls


def test_each_tap_gets_its_filter_and_port_isolation(fake_nics, hv) -> None:
    from pyvirt.drivers.qemu import peers

    live = hv.drv.parse(NIC_DOM)[0]
    taps, _fds = peers.plug_interfaces(object(), live)
    assert taps == ["tapa", "tapb"]
    assert fake_nics == [("filter", "tapa", "10.0.0.2"), ("isolate", "tapa"),
                         ("filter", "tapb", None)]


def test_a_filter_that_fails_takes_its_tap_away(fake_nics, hv) -> None:
    from pyvirt.drivers.qemu import peers

    live = hv.drv.parse(NIC_DOM.replace("clean-traffic", "bad"))[0]
    with pytest.raises(libvirtError):
        peers.plug_interfaces(object(), live)
    assert ("detach", "tapa") in fake_nics and ("close", 7) in fake_nics
    assert ("isolate", "tapa") not in fake_nics


def test_qemu_conf_namespaces_list() -> None:
    on = qconfig.from_values(qconfig.parse('user = "+5"\nnamespaces = [ "mount" ] # private\n'))
    assert on.namespaces == ("mount",) and on.mount_namespace
    assert qconfig.from_values(qconfig.parse('user = "+5"\n')).mount_namespace   # default
    off = qconfig.from_values(qconfig.parse('user = "+5"\nnamespaces = []\n'))
    assert off.namespaces == () and not off.mount_namespace
    for text, message in (('namespaces = ["pid"]', "Unknown namespace: pid"),
                          ('namespaces = "mount"', "expected a string list"),
                          ('namespaces = [mount]', "expecting a string")):
        with pytest.raises(libvirtError) as exc:
            qconfig.from_values(qconfig.parse(text))
        assert exc.value.get_error_code() == VIR_ERR_CONF_SYNTAX
        assert message in exc.value.get_error_message()


def test_an_unprivileged_driver_has_no_namespace(tmp_path: Path) -> None:
    assert qconfig.load(tmp_path / "qemu.conf", privileged=False).namespaces == ()
