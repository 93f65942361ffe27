"""The remote driver against a pyvirtd: probing, the URI the daemon sees,
libvirt's connection errors, read-only, streams, events, keepalive, threads,
and a daemon that goes away."""

from __future__ import annotations

import sys
import threading
import time

import pytest

import pyvirt
from pyvirt import uri as _uri
from pyvirt.drivers.remote import RemoteDriver, daemon_uri
from pyvirt.drivers.remote.transports import ssh_argv
from pyvirt.errors import (VIR_ERR_INVALID_ARG, VIR_ERR_NO_STORAGE_VOL,
                           VIR_ERR_OPERATION_DENIED, VIR_ERR_SYSTEM_ERROR, VIR_FROM_REMOTE,
                           VIR_FROM_RPC)


def _wait_for(predicate, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.mark.parametrize("text, taken", [
    ("test+unix:///default", True), ("qemu+ssh://root@host/system", True),
    ("qemu://host/system", True), ("test:///default", False),
    ("qemu:///embed?root=/tmp/x", False), ("foo:///bar", True)])
def test_which_uris_it_takes(text, taken):
    assert RemoteDriver().takes(_uri.parse(text), False) is taken


def test_local_daemon_uris_need_the_socket(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    qemu = _uri.parse("qemu:///session")
    assert RemoteDriver().takes(qemu, False) is False
    (tmp_path / "libvirt").mkdir()
    (tmp_path / "libvirt" / "libvirt-sock").touch()
    assert RemoteDriver().takes(qemu, False) is True


@pytest.mark.parametrize("text, sent", [
    ("test+tcp://127.0.0.1:16509/default", "test:///default"),
    ("qemu+ssh://root@h:22/system?keyfile=/k&no_verify=1", "qemu:///system"),
    ("test+unix:///default?socket=/s&mode=direct", "test:///default"),
    ("qemu+tls://h/system?name=qemu:///session", "qemu:///session")])
def test_the_daemon_gets_the_uri_without_transport(text, sent):
    assert daemon_uri(_uri.parse(text)) == sent


def test_ssh_command_line_is_libvirts():
    argv = ssh_argv(_uri.parse("qemu+ssh://root@h:2222/system?keyfile=/k&no_verify=1"),
                    False, "qemu:///system")
    assert argv[:9] == ["ssh", "-p", "2222", "-l", "root", "-i", "/k", "-o",
                        "StrictHostKeyChecking=no"]
    assert argv[-2] == "h"
    assert "pyvirt-ssh-helper" in argv[-1] and "nc -U /run/libvirt/libvirt-sock" in argv[-1]


@pytest.mark.parametrize("text, code, domain, message", [
    ("foo:///bar", VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC, "Failed to connect socket to '"),
    ("test+unix:///default?socket=/nonexistent", VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC,
     "Failed to connect socket to '/nonexistent': No such file or directory"),
    ("test+tcp://127.0.0.1:1/default", VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC,
     "unable to connect to server at '127.0.0.1:1': Connection refused"),
    ("test+tls://127.0.0.1:1/default?pkipath=/nonexistent", VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC,
     "Cannot read CA certificate '/nonexistent/cacert.pem': No such file or directory"),
    ("test+bogus:///default", VIR_ERR_INVALID_ARG, VIR_FROM_REMOTE,
     "invalid argument: remote_open: transport in URL not recognised"),
    ("test+unix://host/default", VIR_ERR_INVALID_ARG, VIR_FROM_REMOTE,
     "invalid argument: using unix socket and remote server 'host' is not supported."),
    ("test+ext:///default?command=/bin/false", VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC,
     "Cannot recv data: : Connection reset by peer")])
def test_connection_errors_are_libvirts(remote_registered, text, code, domain, message):
    with pytest.raises(pyvirt.libvirtError) as err:
        pyvirt.open(text)
    assert err.value.get_error_code() == code
    assert err.value.get_error_domain() == domain
    assert str(err.value).startswith(message)


def test_connection_facts(unix_uri, tcp_uri):
    conn = pyvirt.open(unix_uri)
    assert conn.getURI() == unix_uri and conn.isSecure() == 1 and conn.isEncrypted() == 0
    assert conn.isAlive() == 1 and conn.getType() == "TEST"
    conn.close()
    conn = pyvirt.open(tcp_uri)
    assert conn.isSecure() == 0 and conn.isEncrypted() == 0
    conn.close()


def test_read_only_connection_is_refused_changes(unix_uri):
    conn = pyvirt.openReadOnly(unix_uri)
    dom = conn.lookupByName("test")
    assert dom.isActive() == 1
    with pytest.raises(pyvirt.libvirtError) as err:
        dom.destroy()
    assert err.value.get_error_code() == VIR_ERR_OPERATION_DENIED
    assert "read only access prevents virDomainDestroy" in str(err.value)
    conn.close()


def test_calls_from_many_threads_share_the_connection(unix_uri):
    conn = pyvirt.open(unix_uri)
    names: list[str] = []

    def worker() -> None:
        for _ in range(20):
            names.append(conn.lookupByName("test").name())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert names == ["test"] * 120
    conn.close()


def test_volume_upload_and_download_streams(fake_uri):
    conn = pyvirt.open(fake_uri)
    vol = conn.storagePoolLookupByName("p").storageVolLookupByName("disk")
    up = conn.newStream(0)
    vol.upload(up, 0, 0, 0)
    up.send(b"hello ")
    up.send(b"volume")
    up.finish()
    down = conn.newStream(0)
    vol.download(down, 6, 0, 0)
    received = b""
    while chunk := down.recv(4):
        received += chunk
    down.finish()
    assert received == b"volume"
    missing = conn.storagePoolLookupByName("p").storageVolLookupByName("missing")
    with pytest.raises(pyvirt.libvirtError) as err:
        missing.download(conn.newStream(0), 0, 0, 0)
    assert err.value.get_error_code() == VIR_ERR_NO_STORAGE_VOL
    conn.close()


def test_console_stream_both_ways(fake_uri):
    conn = pyvirt.open(fake_uri)
    stream = conn.newStream(0)
    conn.lookupByName("vm").openConsole(None, stream, 0)
    assert stream.recv(100) == b"console of vm\r\n"
    stream.send(b"ls\n")
    assert stream.recv(100) == b"LS\n"
    stream.abort()
    conn.close()


def test_network_and_pool_events(unix_uri):
    conn = pyvirt.open(unix_uri)
    pyvirt.virEventRegisterDefaultImpl()
    seen: list[tuple] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            pyvirt.virEventRunDefaultImpl()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    net_cb = conn.networkEventRegisterAny(
        None, 0, lambda c, net, event, detail, o: seen.append(("net", net.name(), event)), None)
    pool_cb = conn.storagePoolEventRegisterAny(
        None, 0, lambda c, pool, event, detail, o: seen.append(("pool", pool.name(), event)),
        None)
    net = conn.networkLookupByName("default")
    net.destroy()
    net.create()
    pool = conn.storagePoolLookupByName("default-pool")
    pool.destroy()
    assert _wait_for(lambda: len(seen) == 3)
    assert seen == [("net", "default", 3), ("net", "default", 2), ("pool", "default-pool", 3)]
    conn.networkEventDeregisterAny(net_cb)
    conn.storagePoolEventDeregisterAny(pool_cb)
    pool.create()
    stop.set()
    pyvirt.virEventAddTimeout(0, lambda *_: None, None)
    thread.join(5)
    conn.close()


def test_keepalive_pings_are_answered(unix_uri):
    conn = pyvirt.open(unix_uri)
    assert conn.setKeepAlive(1, 3) == 0
    tables = conn._drv.extra["remote"]
    assert _wait_for(lambda: tables._rpc.pongs >= 1)
    assert conn.isAlive() == 1
    conn.close()


def test_a_daemon_that_goes_away(make_daemon, remote_registered):
    running = make_daemon()
    conn = pyvirt.open(f"test+unix:///default?socket={running.rw_path}")
    reasons: list[int] = []
    conn._drv.extra["remote"].connect_register_close_callback(reasons.append)
    dom = conn.lookupByName("test")
    running.stop()
    assert _wait_for(lambda: conn.isAlive() == 0)
    assert _wait_for(lambda: reasons == [pyvirt.VIR_CONNECT_CLOSE_REASON_EOF])
    with pytest.raises(pyvirt.libvirtError):
        dom.info()


def test_ext_transport_through_the_ssh_helper(unix_uri, daemon, tmp_path):
    script = tmp_path / "relay.sh"
    script.write_text(f"#!/bin/sh\nexec {sys.executable} -m pyvirt.daemon.ssh_helper "
                      f"'test:///default?socket={daemon.rw_path}'\n")
    script.chmod(0o755)
    conn = pyvirt.open(f"test+ext:///default?command={script}")
    assert [d.name() for d in conn.listAllDomains(0)] == ["test"]
    assert conn.isEncrypted() == 0
    conn.close()
