"""The private /dev: what a definition needs (pure), the nodes read from the host,
and a real child process in its own mount namespace (as root)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from pyvirt.security import namespace
from pyvirt.security.namespace import DevNode, PrivateDev

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="mount namespaces need root "
                               "(CAP_SYS_ADMIN)")


def dom(xml: str):
    return etree.fromstring(xml)


def test_wanted_paths_base_kvm_tun_and_block_disks() -> None:
    plain = dom("<domain type='qemu'><devices><disk type='file'><source file='/x.img'/>"
                "</disk></devices></domain>")
    assert namespace.wanted_paths(plain) == list(namespace.BASE_NODES)
    full = dom("<domain type='kvm'><devices>"
               "<disk type='block'><source dev='/dev/loop3'/></disk>"
               "<disk type='block'><source dev='/dev/mapper/vg-lv'/></disk>"
               "<disk type='block'><source dev='/srv/not-dev'/></disk>"
               "<disk type='block'><source dev='/dev/../etc/shadow'/></disk>"
               "<interface type='network'/></devices></domain>")
    assert namespace.wanted_paths(full) == [*namespace.BASE_NODES, "/dev/kvm", "/dev/net/tun",
                                            "/dev/loop3", "/dev/mapper/vg-lv"]
    assert "/dev/kvm" not in namespace.wanted_paths(full, kvm=False)


def test_block_source_only_takes_dev_paths() -> None:
    assert namespace.block_source(dom("<disk type='block'><source dev='/dev/sda'/></disk>")) \
        == "/dev/sda"
    assert namespace.block_source(dom("<disk type='file'><source file='/dev/sda'/></disk>")) \
        is None
    assert namespace.block_source(dom("<disk type='block'><source dev='/dev/../x'/></disk>")) \
        is None


def test_describe_reads_nodes_and_follows_symlinks(tmp_path: Path) -> None:
    nodes = {n.path: n for n in namespace.describe(["/dev/null", "/dev/absent", "/etc/passwd"])}
    assert list(nodes) == ["/dev/null"]
    assert stat.S_ISCHR(nodes["/dev/null"].mode)
    assert nodes["/dev/null"].rdev == os.stat("/dev/null").st_rdev
    links = [p for p in ("/dev/stdin", "/dev/fd") if os.path.islink(p)]
    if links:
        described = namespace.describe([links[0]])
        assert described[0].link == os.readlink(links[0])


def test_kept_mounts_from_mountinfo() -> None:
    info = ("24 27 0:6 / /dev rw - devtmpfs devtmpfs rw\n"
            "26 24 0:24 / /dev/pts rw - devpts devpts rw\n"
            "25 24 0:23 / /dev/shm rw - tmpfs tmpfs rw\n")
    assert namespace.kept_mounts(info) == ("/dev/pts", "/dev/shm")


def test_dev_node_relative_path() -> None:
    assert DevNode("/dev/net/tun", 0o20666).relative == "net/tun"


@ROOT_ONLY
def test_a_child_gets_its_own_namespace_and_only_the_allowed_nodes(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    xml = dom("<domain type='qemu'><devices/></domain>")
    private = namespace.private_dev(xml, str(staging))
    code = ("import os; print(os.readlink('/proc/self/ns/mnt')); "
            "print(' '.join(sorted(os.listdir('/dev')))); "
            "open('/dev/null', 'w').write('x'); print(open('/dev/zero', 'rb').read(2))")
    host_dev = sorted(os.listdir("/dev"))
    out = subprocess.run([sys.executable, "-c", code], preexec_fn=private, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out[0] != os.readlink("/proc/self/ns/mnt")
    listed = set(out[1].split())
    assert {"null", "zero", "full", "random", "urandom", "ptmx"} <= listed
    assert listed <= {"null", "zero", "full", "random", "urandom", "ptmx", "pts", "shm",
                      "mqueue", "hugepages"}
    assert out[2] == "b'\\x00\\x00'"
    assert sorted(os.listdir("/dev")) == host_dev            # nothing leaked back
    assert os.listdir(staging) == []                         # the tmpfs never showed here


@ROOT_ONLY
def test_a_node_is_added_to_and_removed_from_a_running_namespace(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    private = PrivateDev(str(staging), tuple(namespace.describe(namespace.BASE_NODES)))
    staging.mkdir()
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE, preexec_fn=private)
    try:
        inside = Path(f"/proc/{child.pid}/root/dev")
        assert namespace.has_own_namespace(child.pid)
        assert not (inside / "full2").exists()
        # a block-like node: /dev/full's numbers under another name stand in for a disk
        node = DevNode("/dev/sub/full2", os.stat("/dev/full").st_mode,
                       os.stat("/dev/full").st_rdev, 4242, 4242)
        namespace.run_in_namespace(child.pid, lambda: namespace.make_node("/dev", node))
        made = (inside / "sub" / "full2").stat()
        assert (made.st_rdev, made.st_uid) == (os.stat("/dev/full").st_rdev, 4242)
        assert not Path("/dev/sub/full2").exists()
        namespace.remove_node(child.pid, "/dev/sub/full2")
        assert not (inside / "sub" / "full2").exists()
        namespace.remove_node(child.pid, "/dev/null")             # base nodes stay
        assert (inside / "null").exists()
    finally:
        child.stdin.close()
        child.wait(10)


@ROOT_ONLY
def test_entering_a_missing_process_fails_cleanly() -> None:
    with pytest.raises(OSError):
        namespace.run_in_namespace(2 ** 22 + 12345, lambda: None)


def test_not_our_namespace_detection() -> None:
    assert not namespace.has_own_namespace(os.getpid())
    assert namespace.mount_ns_of(2 ** 22 + 12345) == ""
