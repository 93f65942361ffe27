"""Every name that becomes a path goes through ``security.paths.check_name``.

Table-driven: each bad name is fed to every define/create entry point of every
driver (test, qemu, lxc, network, storage, snapshots); each call must fail with
a libvirtError and no file may appear anywhere under the test's directory (the
drivers' roots and the pool's directory included).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import pyvirt as libvirt
from pyvirt.drivers.qemu import driver as qdriver, state_dir
from pyvirt.security.paths import MAX_NAME_BYTES, check_ifname, check_name, name_problem

BAD_NAMES = ["../x", "a/b", "..", ".", ".hidden", "../../../../tmp/escape", "x" * 300,
             "/abs"]


def files_under(path: Path) -> set[str]:
    out = set()
    for root, dirs, files in os.walk(path):
        out.update(os.path.join(root, name) for name in dirs + files)
    return out


def domain_xml(name: str, virt: str) -> str:
    os_part = ("<os><type>exe</type><init>/bin/sh</init></os>" if virt == "lxc"
               else "<os><type arch='x86_64'>hvm</type></os>")
    return (f"<domain type='{virt}'><name>{name}</name><memory>131072</memory>"
            f"{os_part}</domain>")


def network_xml(name: str) -> str:
    return f"<network><name>{name}</name></network>"


def pool_xml(name: str, target: Path) -> str:
    return f"<pool type='dir'><name>{name}</name><target><path>{target}</path></target></pool>"


def volume_xml(name: str) -> str:
    return f"<volume><name>{name}</name><capacity>1024</capacity></volume>"


def snapshot_xml(name: str) -> str:
    return f"<domainsnapshot><name>{name}</name></domainsnapshot>"


@pytest.fixture
def drivers(tmp_path: Path):
    """(label, connection, domain type, a defined domain, an active pool, one volume)."""
    made = []         # not test:///default: its names never become paths (see below)
    qroot = tmp_path / "qemu-root"
    qemu = libvirt.open(f"qemu:///embed?root={qroot}")
    (tmp_path / "pool").mkdir()
    pool = qemu.storagePoolDefineXML(pool_xml("good", tmp_path / "pool"))
    pool.create()
    vol = pool.createXML(volume_xml("base.img"))
    made.append(("qemu", qemu, "qemu", qemu.defineXML(domain_xml("good", "qemu")), pool, vol))
    lxc = libvirt.open(f"lxc:///embed?root={tmp_path / 'lxc-root'}")
    made.append(("lxc", lxc, "lxc", None, None, None))
    yield made
    for _label, conn, *_ in made:
        try:
            conn.close()
        except libvirt.libvirtError:
            pass
    qdriver.forget_state_for_tests(state_dir.dirs_for_root(qroot))


def entry_points(label, conn, virt, dom, pool, vol, tmp_path: Path):
    """(what, call(name)) for each define/create entry point of this connection."""
    calls = [("defineXML", lambda name: conn.defineXML(domain_xml(name, virt))),
             ("createXML", lambda name: conn.createXML(domain_xml(name, virt), 0))]
    if label == "lxc":
        return calls
    calls += [
        ("networkDefineXML", lambda name: conn.networkDefineXML(network_xml(name))),
        ("networkCreateXML", lambda name: conn.networkCreateXML(network_xml(name))),
        ("storagePoolDefineXML",
         lambda name: conn.storagePoolDefineXML(pool_xml(name, tmp_path / "pool"))),
        ("storagePoolCreateXML",
         lambda name: conn.storagePoolCreateXML(pool_xml(name, tmp_path / "pool"), 0)),
        ("snapshotCreateXML", lambda name: dom.snapshotCreateXML(snapshot_xml(name), 0)),
        ("vol createXML", lambda name: pool.createXML(volume_xml(name), 0)),
    ]
    if vol is not None:
        calls.append(("vol createXMLFrom",
                      lambda name: pool.createXMLFrom(volume_xml(name), vol, 0)))
    return calls


def test_every_entry_point_refuses_every_bad_name(drivers, tmp_path: Path) -> None:
    before = files_under(tmp_path)
    outside_before = set(os.listdir(tmp_path.parent))
    tried = 0
    for label, conn, virt, dom, pool, vol in drivers:
        for what, call in entry_points(label, conn, virt, dom, pool, vol, tmp_path):
            for name in BAD_NAMES:
                with pytest.raises(libvirt.libvirtError) as exc:
                    call(name)
                message = exc.value.get_error_message()
                assert "/" in name and "/" in message or name[:20] in message or \
                    "too long" in message, (label, what, name, message)
                tried += 1
    assert tried >= len(BAD_NAMES) * 10
    assert files_under(tmp_path) == before
    assert set(os.listdir(tmp_path.parent)) == outside_before
    assert not Path("/tmp/escape").exists() and not Path("/tmp/escape.xml").exists()


def test_the_test_driver_takes_the_names_libvirts_takes() -> None:
    """test:///default keeps everything in memory, so it accepts (and refuses) names
    exactly as libvirt's test driver does: ``.hidden`` and ``..`` are fine there."""
    real = pytest.importorskip("libvirt", reason="needs the real libvirt-python binding")

    def outcomes(binding) -> list:
        conn = binding.open("test:///default")
        pool, dom = conn.storagePoolLookupByName("default-pool"), conn.lookupByName("test")
        calls = [lambda n: conn.defineXML(domain_xml(n, "test")),
                 lambda n: conn.networkDefineXML(network_xml(n)),
                 lambda n: pool.createXML(volume_xml(n), 0),
                 lambda n: dom.snapshotCreateXML(snapshot_xml(n), 0)]
        got = []
        for call in calls:
            for name in (".hidden", "..", "a/b"):
                try:
                    call(name)
                    got.append("ok")
                except binding.libvirtError as err:
                    got.append((err.get_error_code(), str(err)))
        conn.close()
        return got

    assert outcomes(libvirt) == outcomes(real)


def test_the_test_driver_still_takes_ordinary_names() -> None:
    conn = libvirt.open("test:///default")
    dom = conn.defineXML(domain_xml("web-01_a.b", "test"))
    assert dom.name() == "web-01_a.b"
    dom.undefine()


@pytest.mark.parametrize("kind,code,domain,message", [
    ("domain", 27, 20, "XML error: name a/b cannot contain '/'"),
    ("network", 35, 5, "invalid char in name: /"),
    ("pool", 27, 18, "XML error: name a/b cannot contain '/'"),
    ("volume", 55, 18, "Requested operation is not valid: volume name 'a/b' cannot contain '/'"),
])
def test_a_slash_gets_libvirts_own_error(kind: str, code: int, domain: int,
                                          message: str) -> None:
    with pytest.raises(libvirt.libvirtError) as exc:
        check_name(kind, "a/b")
    assert (exc.value.get_error_code(), exc.value.get_error_domain()) == (code, domain)
    assert exc.value.get_error_message() == message


@pytest.mark.parametrize("name,problem", [
    ("", "cannot be empty"), ("..", "is not allowed"), (".", "is not allowed"),
    (".hidden", "cannot start with '.'"), ("a\0b", "cannot contain a NUL character"),
    ("a\nb", "cannot contain control characters"),
    ("é" * (MAX_NAME_BYTES // 2 + 1), f"is too long (more than {MAX_NAME_BYTES} bytes)"),
])
def test_other_bad_names_are_invalid_arguments(name: str, problem: str) -> None:
    assert name_problem(name) == problem
    with pytest.raises(libvirt.libvirtError) as exc:
        check_name("snapshot", name)
    assert exc.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    assert problem in exc.value.get_error_message()


def test_good_names_pass() -> None:
    for name in ("vm1", "a.b", "web-01", "x" * MAX_NAME_BYTES, "ünïcode", "a..b"):
        assert check_name("domain", name) == name


@pytest.mark.parametrize("name", ["", "a" * 16, "..", "a/b", "a b", "a:b"])
def test_bad_interface_names(name: str) -> None:
    with pytest.raises(libvirt.libvirtError) as exc:
        check_ifname(name)
    assert exc.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG


def test_network_bridge_name_is_checked(tmp_path: Path) -> None:
    conn = libvirt.open(f"qemu:///embed?root={tmp_path}")
    try:
        with pytest.raises(libvirt.libvirtError) as exc:
            conn.networkDefineXML("<network><name>n1</name><bridge name='../../br'/></network>")
        assert "not a valid network interface name" in exc.value.get_error_message()
    finally:
        conn.close()
        qdriver.forget_state_for_tests(state_dir.dirs_for_root(tmp_path))


def test_a_dot_dot_volume_in_a_pool_gets_libvirts_answer() -> None:
    with pytest.raises(libvirt.libvirtError) as exc:
        check_name("volume", "..", target_dir="/srv/pool")
    assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    assert exc.value.get_error_message() == ("Requested operation is not valid: volume target "
                                             "path '/srv/pool/..' already exists")
