"""prepare/release: labels, cgroup and live seclabel in one call (needs root)."""

import os
import stat
import subprocess

import pytest
from lxml import etree

from pyvirt.cgroups import DomainCgroup, domain_group_name, layout
from pyvirt.errors import VIR_ERR_OPERATION_INVALID, libvirtError
from pyvirt.security import confine
from pyvirt.security.seclabel import Owner

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
KEY = "0f0e0d0c-1111-2222-3333-444455556666"


def domain(disk: str, extra: str = "") -> etree._Element:
    return etree.fromstring(
        f"<domain type='qemu'><name>conf-{os.getpid()}</name>{extra}<devices>"
        f"<disk type='file' device='disk'><source file='{disk}'/><target dev='vda'/></disk>"
        "</devices></domain>")


def has_cgroups() -> bool:
    lay = layout()
    return lay.mount_of("memory") is not None and lay.mount_of("cpu") is not None


def test_prepare_and_release(tmp_path):
    if not has_cgroups():
        pytest.skip("no memory/cpu cgroup controllers")
    disk = tmp_path / "d.img"
    disk.write_text("x")
    os.chmod(disk, 0o644)
    dom = domain(str(disk), "<cputune><shares>300</shares></cputune>")
    name = dom.findtext("name")
    got = confine.prepare(dom, key=KEY, name=name, state_dir=str(tmp_path / "st"),
                          owner=Owner(61031, 61031))
    try:
        assert got.owner == Owner(61031, 61031) and got.labelled == [str(disk)]
        assert os.stat(disk).st_uid == 61031
        assert got.cgroup.cpu_shares() == 300
        assert dom.find("seclabel/label").text == "+61031:+61031"
        assert got.qemu_args[0] == "-sandbox"
        proc = subprocess.run(["/bin/cat", "/proc/self/cgroup"], preexec_fn=got.preexec,
                              capture_output=True, text=True, check=True, cwd="/")
        assert got.cgroup.relpath in proc.stdout
    finally:
        confine.release(key=KEY, name=name, state_dir=str(tmp_path / "st"))
    assert os.stat(disk).st_uid == 0 and stat.S_IMODE(os.stat(disk).st_mode) == 0o644
    assert not DomainCgroup(domain_group_name(name, "qemu", KEY[:8])).exists()


def test_prepare_failure_undoes_labels(tmp_path):
    disk = tmp_path / "d.img"
    disk.write_text("x")
    dom = domain(str(disk), "<cputune><shares>1</shares></cputune>")   # invalid tuning
    with pytest.raises(libvirtError):
        confine.prepare(dom, key=KEY, name="bad", state_dir=str(tmp_path / "st"),
                        owner=Owner(61031, 61031))
    assert os.stat(disk).st_uid == 0


def test_root_refused_unless_allowed(tmp_path):
    dom = domain(str(tmp_path / "none.img"))
    with pytest.raises(libvirtError) as info:
        confine.prepare(dom, key=KEY, name="r", state_dir=str(tmp_path), owner=Owner(0, 0),
                        use_cgroup=False)
    assert info.value.get_error_code() == VIR_ERR_OPERATION_INVALID
    got = confine.prepare(dom, key=KEY, name="r", state_dir=str(tmp_path), owner=Owner(0, 0),
                          use_cgroup=False, allow_root=True)
    assert got.owner == Owner(0, 0) and got.cgroup is None


def test_type_none_runs_unconfined(tmp_path):
    disk = tmp_path / "d.img"
    disk.write_text("x")
    dom = domain(str(disk), "<seclabel type='none'/>")
    got = confine.prepare(dom, key=KEY, name="n", state_dir=str(tmp_path / "st"), owner=None,
                          use_cgroup=False)
    assert got.owner is None and got.labelled == [] and got.preexec.owner is None
    assert os.stat(disk).st_uid == 0


def test_unlabel_more_gives_back_only_what_the_rest_does_not_use(tmp_path):
    from pyvirt.security import acl
    disk, hot, shared = (tmp_path / n for n in ("d.img", "hot.img", "shared.img"))
    for f in (disk, hot, shared):
        f.write_text("x")
        os.chmod(f, 0o644)
    state_dir = str(tmp_path / "st")
    owner = Owner(61032, 61032)
    dom = domain(str(disk))
    confine.prepare(dom, key=KEY, name="unl", state_dir=state_dir, owner=owner,
                    use_cgroup=False)

    def wrapper(path, readonly=False):
        return etree.fromstring(
            "<domain><devices><disk type='file' device='disk'>"
            f"<source file='{path}'/><target dev='vdb'/>{'<readonly/>' if readonly else ''}"
            "</disk></devices></domain>")
    confine.label_more(wrapper(hot), key=KEY, state_dir=state_dir, owner=owner)
    confine.label_more(wrapper(shared, True), key=KEY, state_dir=state_dir, owner=owner)
    assert hot.stat().st_uid == 61032
    assert (acl.USER, acl.READ, 61032) in acl.read(str(shared))
    # the main disk is also named by the leaving device: it stays the guest's
    back = confine.unlabel_more(wrapper(hot), [dom], key=KEY, state_dir=state_dir)
    assert back == [str(hot)]
    assert (hot.stat().st_uid, stat.S_IMODE(hot.stat().st_mode)) == (0, 0o644)
    assert confine.unlabel_more(wrapper(disk), [dom], key=KEY, state_dir=state_dir) == []
    assert disk.stat().st_uid == 61032
    confine.unlabel_more(wrapper(shared, True), [dom], key=KEY, state_dir=state_dir)
    assert all(entry[2] != 61032 for entry in acl.read(str(shared)))
    confine.release(key=KEY, name="unl", state_dir=state_dir)
    assert disk.stat().st_uid == 0
