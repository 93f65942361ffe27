"""The LXC driver with real containers from the busybox rootfs (root needed).

Each test runs containers under an embedded ``lxc:///embed?root=TMP`` and
checks what the host sees: processes, cgroups, status files, console.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import pyvirt
from pyvirt.drivers.lxc.state import forget_state_for_tests, state_for
from pyvirt.drivers.lxc.state_dir import dirs_for_root
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID,
    VIR_ERR_SYSTEM_ERROR, VIR_FROM_LXC,
)

from lxc_helpers import ConsoleReader, container_xml, leftovers, wait_for

RUNNING, PAUSED, SHUTOFF = 1, 3, 5


def _container(conn, lxc_root):
    drv = state_for(dirs_for_root(lxc_root))
    return drv, lambda dom: drv.containers.get(bytes.fromhex(dom.UUIDString().replace("-", "")))


def _init_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


def test_define_list_dumpxml_undefine(conn, rootfs, lxc_root):
    dom = conn.defineXML(container_xml("ct-def", rootfs))
    assert conn.listDefinedDomains() == ["ct-def"]
    xml = dom.XMLDesc()
    assert "<type arch=" in xml and ">exe</type>" in xml
    assert dom.OSType() == "exe"
    assert (lxc_root / "etc" / "lxc" / "ct-def.xml").exists()
    assert dom.info()[0] == SHUTOFF
    dom.undefine()
    assert conn.listAllDomains() == []
    assert not (lxc_root / "etc" / "lxc" / "ct-def.xml").exists()


def test_qemu_xml_is_refused(conn):
    with pytest.raises(pyvirt.libvirtError) as info:
        conn.defineXML("<domain type='kvm'><name>vm</name><memory>65536</memory>"
                       "<os><type>hvm</type></os></domain>")
    assert info.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert info.value.get_error_domain() == VIR_FROM_LXC


def test_capabilities_and_type(conn):
    assert conn.getType() == "LXC"
    assert "<os_type>exe</os_type>" in conn.getCapabilities()


def test_start_console_uid_map_and_destroy(event_loop, conn, rootfs, lxc_root):
    drv, container_of = _container(conn, lxc_root)
    events = []
    conn.domainEventRegisterAny(None, pyvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                lambda c, d, ev, detail, opaque: events.append((ev, detail)),
                                None)
    dom = conn.defineXML(container_xml("ct-run", rootfs))
    dom.create()
    assert dom.state() == [RUNNING, 1]
    assert dom.ID() >= 1 and conn.lookupByID(dom.ID()).name() == "ct-run"
    ct = container_of(dom)
    # uid 0 inside is the <idmap> target outside
    assert _init_uid(ct.init_pid) == 100000
    # init is in the container's cgroup; the controller went back to ours
    assert ct.init_pid in ct.cgroup.pids() and ct.controller_pid not in ct.cgroup.pids()
    log = lxc_root / "log" / "lxc" / "ct-run.log"
    wait_for(lambda: "PYVIRT-CT-READY uid=0 gid=0 host=ct-run" in log.read_text(),
             what="the init's marker in the console log")
    console = ConsoleReader(conn, dom)
    try:
        console.run("echo PING-$((40+2)) $(cat /proc/self/uid_map | tr -s ' ')", "PING-42")
        assert "PING-42 0 100000 65536" in console.expect("65536")
        console.run("echo ROOT=$(ls /) HOST=$(hostname)", "HOST=ct-run")
        assert "sbin" in console.text
    finally:
        console.close()
    info = dom.info()
    assert info[0] == RUNNING and info[4] > 0          # CPU time from cpuacct
    cgroup_dirs = ct.cgroup.directories()
    assert all(p.exists() for p in cgroup_dirs)
    dom.destroy()
    assert dom.state() == [SHUTOFF, 2]                  # destroyed
    assert leftovers(drv.dirs, "ct-run", ct.init_pid, cgroup_dirs) == []
    wait_for(lambda: (5, 1) in events, what="the STOPPED/DESTROYED event")
    assert events[:2] == [(0, 0), (2, 0)]               # DEFINED/ADDED, STARTED/BOOTED


def test_shutdown_sigterm_then_nothing_left(conn, rootfs, lxc_root):
    drv, container_of = _container(conn, lxc_root)
    dom = conn.defineXML(container_xml("ct-shut", rootfs))
    dom.create()
    ct = container_of(dom)
    cgroup_dirs = ct.cgroup.directories()
    wait_for(lambda: "PYVIRT-CT-READY" in Path(ct.log_path).read_text(), what="marker")
    dom.shutdown()
    wait_for(lambda: dom.state()[0] == SHUTOFF, what="shutdown")
    assert dom.state() == [SHUTOFF, 1]                  # shutdown
    assert "PYVIRT-CT-STOPPING" in Path(ct.log_path).read_text()
    assert leftovers(drv.dirs, "ct-shut", ct.init_pid, cgroup_dirs) == []
    with pytest.raises(pyvirt.libvirtError) as info:
        dom.shutdown()
    assert info.value.get_error_code() == VIR_ERR_OPERATION_INVALID


def test_shutdown_kills_after_grace_when_init_ignores_sigterm(conn, rootfs, lxc_root,
                                                              monkeypatch):
    from pyvirt.drivers.lxc import lifecycle

    monkeypatch.setattr(lifecycle, "SHUTDOWN_GRACE_S", 0.3)
    drv, container_of = _container(conn, lxc_root)
    dom = conn.defineXML(container_xml("ct-stub", rootfs, init="/bin/sleep",
                                       extra="").replace("</init>", "</init><initarg>600</initarg>"))
    dom.create()
    ct = container_of(dom)
    dom.shutdown()          # sleep as pid 1 has no SIGTERM handler: the kernel ignores it
    wait_for(lambda: dom.state()[0] == SHUTOFF, what="the kill after the grace period")
    assert leftovers(drv.dirs, "ct-stub", ct.init_pid, ct.cgroup.directories()) == []


def test_suspend_resume_with_freezer(conn, rootfs, lxc_root):
    drv, container_of = _container(conn, lxc_root)
    dom = conn.defineXML(container_xml("ct-frz", rootfs))
    dom.create()
    ct = container_of(dom)
    dom.suspend()
    assert dom.state() == [PAUSED, 1]
    assert ct.cgroup.frozen()
    assert Path(f"/proc/{ct.init_pid}/stat").exists()
    dom.resume()
    assert dom.state() == [RUNNING, 5]
    assert not ct.cgroup.frozen()
    dom.suspend()
    dom.destroy()               # a frozen container must still die
    assert leftovers(drv.dirs, "ct-frz", ct.init_pid, ct.cgroup.directories()) == []


def test_memory_limit_kills_a_greedy_process(conn, rootfs, lxc_root):
    _, container_of = _container(conn, lxc_root)
    dom = conn.defineXML(container_xml("ct-mem", rootfs, memory_mib=32))
    dom.create()
    ct = container_of(dom)
    assert ct.cgroup.memory_limit_kib() == 32 * 1024
    console = ConsoleReader(conn, dom)
    try:
        console.run("dd if=/dev/zero of=/dev/null bs=64M count=1; echo RC=$?", "RC=1")
        assert "RC=137" in console.text     # SIGKILL from the OOM killer
    finally:
        console.close()
    assert ct.cgroup.oom_kills() >= 1
    assert dom.state()[0] == RUNNING        # only the greedy process died


def test_reattach_after_driver_restart(conn, rootfs, lxc_root):
    dom = conn.defineXML(container_xml("ct-re", rootfs))
    dom.create()
    dom_id = dom.ID()
    old = state_for(dirs_for_root(lxc_root)).containers[bytes.fromhex(
        dom.UUIDString().replace("-", ""))]
    forget_state_for_tests(dirs_for_root(lxc_root))
    conn2 = pyvirt.open(f"lxc:///embed?root={lxc_root}")
    try:
        again = conn2.lookupByName("ct-re")
        assert again.state() == [RUNNING, 1]
        assert again.ID() == dom_id
        drv, container_of = _container(conn2, lxc_root)
        ct = container_of(again)
        assert ct.init_pid == old.init_pid
        console = ConsoleReader(conn2, again)
        try:
            console.run("echo BACK-$((1+1))", "BACK-2")
        finally:
            console.close()
        again.destroy()
        assert leftovers(drv.dirs, "ct-re", ct.init_pid, ct.cgroup.directories()) == []
    finally:
        conn2.close()


def test_reattach_cleans_up_a_container_that_died_meanwhile(conn, rootfs, lxc_root):
    import os
    import signal

    dom = conn.defineXML(container_xml("ct-gone", rootfs))
    dom.create()
    drv = state_for(dirs_for_root(lxc_root))
    ct = drv.containers[bytes.fromhex(dom.UUIDString().replace("-", ""))]
    forget_state_for_tests(dirs_for_root(lxc_root))
    os.kill(ct.init_pid, signal.SIGKILL)
    wait_for(lambda: ct._exited.is_set(), what="controller exit")
    conn2 = pyvirt.open(f"lxc:///embed?root={lxc_root}")
    try:
        assert conn2.lookupByName("ct-gone").state()[0] == SHUTOFF
        new = state_for(dirs_for_root(lxc_root))
        assert leftovers(new.dirs, "ct-gone", ct.init_pid, ct.cgroup.directories()) == []
    finally:
        conn2.close()


def test_init_exiting_on_its_own_is_a_shutdown(conn, rootfs, lxc_root):
    drv, container_of = _container(conn, lxc_root)
    dom = conn.defineXML(container_xml("ct-quit", rootfs))
    dom.create()
    ct = container_of(dom)
    console = ConsoleReader(conn, dom)
    try:
        console.stream.send(b"kill -TERM 1\n")
        wait_for(lambda: dom.state()[0] == SHUTOFF, what="stop after init exit")
    finally:
        console.close()
    assert dom.state() == [SHUTOFF, 1]
    assert leftovers(drv.dirs, "ct-quit", ct.init_pid, ct.cgroup.directories()) == []


def test_reboot_restarts_init(event_loop, conn, rootfs, lxc_root):
    _, container_of = _container(conn, lxc_root)
    reboots = []
    conn.domainEventRegisterAny(None, pyvirt.VIR_DOMAIN_EVENT_ID_REBOOT,
                                lambda c, d, opaque: reboots.append(d.name()), None)
    dom = conn.defineXML(container_xml("ct-boot", rootfs))
    dom.create()
    first = container_of(dom).init_pid
    dom.reboot()
    assert dom.state()[0] == RUNNING
    assert container_of(dom).init_pid != first
    wait_for(lambda: reboots == ["ct-boot"], what="reboot event")


def test_missing_root_directory(conn, rootfs, lxc_root, tmp_path):
    drv, _ = _container(conn, lxc_root)
    dom = conn.defineXML(container_xml("ct-noroot", tmp_path / "nowhere"))
    with pytest.raises(pyvirt.libvirtError) as info:
        dom.create()
    assert info.value.get_error_code() == VIR_ERR_SYSTEM_ERROR
    assert "nowhere" in str(info.value) and "No such file or directory" in str(info.value)
    assert dom.state()[0] == SHUTOFF
    assert drv.containers == {}


def test_init_that_exits_at_once(conn, rootfs, lxc_root):
    drv, _ = _container(conn, lxc_root)
    dom = conn.defineXML(container_xml("ct-exit", rootfs, init="/sbin/ct-exit"))
    with pytest.raises(pyvirt.libvirtError) as info:
        dom.create()
    assert info.value.get_error_code() == VIR_ERR_OPERATION_FAILED
    assert "exited at once with status 3" in str(info.value)
    assert "PYVIRT-CT-EXITING" in str(info.value)        # the console log's tail
    assert dom.state()[0] == SHUTOFF
    assert drv.containers == {}
    assert not list((lxc_root / "run" / "lxc").glob("ct-exit*"))


def test_missing_init_in_rootfs(conn, rootfs, lxc_root):
    drv, _ = _container(conn, lxc_root)
    dom = conn.defineXML(container_xml("ct-noinit", rootfs, init="/sbin/nothing-here"))
    with pytest.raises(pyvirt.libvirtError, match="Failed to execute init '/sbin/nothing-here'"):
        dom.create()
    assert dom.state()[0] == SHUTOFF and drv.containers == {}


def test_autostart_on_driver_start(conn, rootfs, lxc_root):
    dom = conn.defineXML(container_xml("ct-auto", rootfs))
    dom.setAutostart(1)
    assert dom.autostart() == 1
    marker = dirs_for_root(lxc_root).run / "autostarted"
    assert marker.exists()              # this root's first driver start already happened
    forget_state_for_tests(dirs_for_root(lxc_root))
    conn2 = pyvirt.open(f"lxc:///embed?root={lxc_root}")
    try:                                # a driver restart is not a host boot: no autostart
        assert conn2.lookupByName("ct-auto").state()[0] == SHUTOFF
    finally:
        conn2.close()
    forget_state_for_tests(dirs_for_root(lxc_root))
    marker.unlink()                     # as after a reboot (the run dir is a tmpfs)
    conn3 = pyvirt.open(f"lxc:///embed?root={lxc_root}")
    try:
        assert conn3.lookupByName("ct-auto").state()[0] == RUNNING
        conn3.lookupByName("ct-auto").destroy()
    finally:
        conn3.close()


def test_transient_container_goes_away_on_destroy(conn, rootfs):
    dom = conn.createXML(container_xml("ct-tmp", rootfs), 0)
    assert dom.isPersistent() == 0 and dom.isActive() == 1
    dom.destroy()
    with pytest.raises(pyvirt.libvirtError):
        conn.lookupByName("ct-tmp")


def test_stats(conn, rootfs):
    dom = conn.defineXML(container_xml("ct-stats", rootfs))
    dom.create()
    records = conn.getAllDomainStats(0, 0)
    (found, stats), = [(d, s) for d, s in records if d.name() == "ct-stats"]
    assert stats["state.state"] == RUNNING
    assert stats["cpu.time"] > 0
    assert stats["balloon.maximum"] == 65536
    assert stats["balloon.rss"] > 0
    assert stats["net.count"] == 0
    mem = dom.memoryStats()
    assert mem["rss"] > 0 and mem["actual"] == 65536
    dom.setMemory(48 * 1024)
    assert dom.info()[1] == 65536


def test_start_running_container_is_refused(conn, rootfs):
    dom = conn.defineXML(container_xml("ct-twice", rootfs))
    dom.create()
    with pytest.raises(pyvirt.libvirtError) as info:
        dom.create()
    assert info.value.get_error_code() == VIR_ERR_OPERATION_INVALID
    assert "already running" in str(info.value)


@pytest.fixture
def shared_dir():
    """A directory the container's mapped root can reach (pytest's tmp dirs are 0700)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="pyvirt-lxc-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_unreachable_bind_source_is_a_clear_error(conn, rootfs, lxc_root, tmp_path):
    drv, _ = _container(conn, lxc_root)
    (tmp_path / "hidden").mkdir()           # under pytest's 0700 dir: not for uid 100000
    mounts = (f"<filesystem type='mount'><source dir='{tmp_path / 'hidden'}'/>"
              "<target dir='/mnt'/></filesystem>")
    dom = conn.defineXML(container_xml("ct-hidden", rootfs, extra_devices=mounts))
    with pytest.raises(pyvirt.libvirtError, match="Permission denied .the container's root"):
        dom.create()
    assert drv.containers == {}


def test_bind_mounts_readonly_and_writable(conn, rootfs, lxc_root, shared_dir):
    ro_dir, rw_dir = shared_dir / "ro", shared_dir / "rw"
    ro_dir.mkdir()
    rw_dir.mkdir()
    (ro_dir / "hello").write_text("from-the-host\n")
    os_chown = __import__("os").chown
    os_chown(rw_dir, 100000, 100000)            # the container's root owns it
    mounts = (f"<filesystem type='mount'><source dir='{ro_dir}'/><target dir='/mnt'/>"
              "<readonly/></filesystem>"
              f"<filesystem type='mount'><source dir='{rw_dir}'/><target dir='/root'/>"
              "</filesystem>")
    dom = conn.defineXML(container_xml("ct-bind", rootfs, extra_devices=mounts))
    dom.create()
    console = ConsoleReader(conn, dom)
    try:
        console.run("cat /mnt/hello; touch /mnt/x 2>/dev/null || echo RO-REFUSED-$((2+3))",
                    "RO-REFUSED-5")
        assert "from-the-host" in console.text
        console.run("echo written > /root/out && echo RW-OK-$((2+3))", "RW-OK-5")
    finally:
        console.close()
    assert (rw_dir / "out").read_text() == "written\n"
    assert (rw_dir / "out").stat().st_uid == 100000
    assert not (ro_dir / "x").exists()


def test_second_console_session_needs_force(conn, rootfs):
    dom = conn.defineXML(container_xml("ct-con", rootfs))
    dom.create()
    first = ConsoleReader(conn, dom)
    try:
        with pytest.raises(pyvirt.libvirtError, match="Active console session exists"):
            ConsoleReader(conn, dom)
        stream = conn.newStream(pyvirt.VIR_STREAM_NONBLOCK)
        dom.openConsole("console0", stream, pyvirt.VIR_DOMAIN_CONSOLE_FORCE)
        with pytest.raises(pyvirt.libvirtError, match="I/O failure"):
            wait_for(lambda: first.pump() is None, timeout=5, what="the old session's abort")
        stream.abort()
        with pytest.raises(pyvirt.libvirtError, match="cannot find console device 'serial0'"):
            dom.openConsole("serial0", conn.newStream(0), 0)
    finally:
        first.close()


def test_autodestroy_when_the_connection_closes(conn, rootfs, lxc_root):
    other = pyvirt.open(f"lxc:///embed?root={lxc_root}")
    other.createXML(container_xml("ct-ad", rootfs), pyvirt.VIR_DOMAIN_START_AUTODESTROY)
    assert conn.lookupByName("ct-ad").isActive() == 1
    other.close()
    with pytest.raises(pyvirt.libvirtError):
        conn.lookupByName("ct-ad")          # transient and destroyed: gone


def test_container_without_idmap_runs_as_host_root_with_dropped_caps(conn, rootfs, lxc_root):
    _, container_of = _container(conn, lxc_root)
    dom = conn.defineXML(container_xml("ct-root", rootfs, idmap=False))
    dom.create()
    ct = container_of(dom)
    assert _init_uid(ct.init_pid) == 0
    bounding = next(line for line in Path(f"/proc/{ct.init_pid}/status").read_text()
                    .splitlines() if line.startswith("CapBnd:"))
    caps = int(bounding.split()[1], 16)
    for cap in (16, 25, 30, 33):            # sys_module, sys_time, audit_control, mac_admin
        assert not caps & (1 << cap)
    # no private network without NICs or <privnet/>: the host's namespace, as libvirt does
    assert Path(f"/proc/{ct.init_pid}/ns/net").readlink() == Path("/proc/self/ns/net").readlink()
    assert Path(f"/proc/{ct.init_pid}/ns/pid").readlink() != Path("/proc/self/ns/pid").readlink()


def test_scheduler_parameters_live_and_config(conn, rootfs, lxc_root):
    _, container_of = _container(conn, lxc_root)
    dom = conn.defineXML(container_xml("ct-sched", rootfs))
    assert dom.schedulerType() == ("posix", 3)
    dom.setSchedulerParametersFlags({"cpu_shares": 512}, pyvirt.VIR_DOMAIN_AFFECT_CONFIG)
    assert "<shares>512</shares>" in dom.XMLDesc(pyvirt.VIR_DOMAIN_XML_INACTIVE)
    dom.create()
    cg = container_of(dom).cgroup
    assert cg.cpu_shares() == 512                   # the config was applied at start
    dom.setSchedulerParameters({"vcpu_period": 100000, "vcpu_quota": 25000})
    assert dom.schedulerParameters() == {"cpu_shares": 512, "vcpu_period": 100000,
                                         "vcpu_quota": 25000}
    with pytest.raises(pyvirt.libvirtError, match="parameter 'weight' not supported"):
        dom.setSchedulerParameters({"weight": 1})
