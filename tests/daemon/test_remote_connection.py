"""The thread-safe client core (pyvirt.remote.connection) against pyvirtd."""

from __future__ import annotations

import threading

import pytest

from pyvirt.errors import VIR_ERR_NO_DOMAIN, VIR_ERR_RPC, libvirtError
from pyvirt.remote.connection import RemoteConnection

from .conftest import FakeVolumes


@pytest.fixture
def conn(daemon):
    connection = RemoteConnection.unix(daemon.rw_path)
    connection.call("CONNECT_OPEN", name="test:///default", flags=0)
    yield connection
    connection.close()


def test_calls_and_errors(conn):
    assert conn.call("CONNECT_GET_TYPE") == "TEST"
    with pytest.raises(libvirtError) as err:
        conn.call("DOMAIN_LOOKUP_BY_NAME", name="nope")
    assert err.value.get_error_code() == VIR_ERR_NO_DOMAIN


def test_many_threads_share_one_connection(conn):
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            name = conn.call("DOMAIN_LOOKUP_BY_NAME", name="test").name
            with lock:
                results.append(name)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == ["test"] * 200


def test_events_reach_the_callback_while_calls_run(daemon):
    seen: list[tuple[str, int]] = []
    arrived = threading.Event()

    def on_event(name, body):
        seen.append((name, body["event"]))
        if len(seen) == 2:
            arrived.set()

    conn = RemoteConnection.unix(daemon.rw_path, on_event=on_event)
    conn.call("CONNECT_OPEN", name="test:///default", flags=0)
    conn.call("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", eventID=0, dom=None)
    dom = conn.call("DOMAIN_LOOKUP_BY_NAME", name="test")
    conn.call("DOMAIN_SUSPEND", dom=dom)
    conn.call("DOMAIN_RESUME", dom=dom)
    assert arrived.wait(10)
    assert seen == [("DOMAIN_EVENT_CALLBACK_LIFECYCLE", 3), ("DOMAIN_EVENT_CALLBACK_LIFECYCLE", 4)]
    conn.close()


def test_keepalive_ping_is_answered(conn):
    conn.ping()
    assert conn.call("CONNECT_GET_TYPE") == "TEST"      # the pong came before this reply
    assert conn.pongs == 1


def test_every_message_from_the_daemon_is_a_sign_of_life(conn):
    before = conn.heard
    conn.call("CONNECT_GET_TYPE")
    conn.call("CONNECT_GET_VERSION")
    assert conn.heard == before + 2          # replies count, not only PONGs
    assert conn.pongs == 0


def test_waiters_fail_when_the_daemon_goes(make_daemon):
    running = make_daemon()
    closed = threading.Event()
    conn = RemoteConnection.unix(running.rw_path, on_close=closed.set)
    conn.call("CONNECT_OPEN", name="test:///default", flags=0)
    running.stop()
    assert closed.wait(10)
    with pytest.raises(libvirtError) as err:
        conn.call("CONNECT_GET_TYPE")
    assert err.value.get_error_code() == VIR_ERR_RPC
    conn.close()


def test_streams_upload_and_download(daemon):
    saved = dict(FakeVolumes.data)
    conn = RemoteConnection.unix(daemon.rw_path)
    try:
        conn.call("CONNECT_OPEN", name="streamfake:///", flags=0)
        pool = conn.call("STORAGE_POOL_LOOKUP_BY_NAME", name="p")
        vol = conn.call("STORAGE_VOL_LOOKUP_BY_NAME", pool=pool, name="v1")
        up = conn.open_stream("STORAGE_VOL_UPLOAD", vol=vol, offset=0, length=0, flags=0)
        up.send(b"new ")
        up.send(b"content")
        up.finish()
        assert FakeVolumes.data["v1"] == b"new content"
        down = conn.open_stream("STORAGE_VOL_DOWNLOAD", vol=vol, offset=0, length=0, flags=0)
        chunks = []
        while chunk := down.recv(timeout=10):
            chunks.append(chunk)
        down.finish()
        assert b"".join(chunks) == b"new content"
        broken = conn.call("STORAGE_VOL_LOOKUP_BY_NAME", pool=pool, name="broken")
        bad = conn.open_stream("STORAGE_VOL_DOWNLOAD", vol=broken, offset=0, length=0, flags=0)
        assert bad.recv(timeout=10) == b"part"
        with pytest.raises(libvirtError, match="read error on broken"):
            bad.recv(timeout=10)
    finally:
        conn.close()
        FakeVolumes.data.clear()
        FakeVolumes.data.update(saved)
