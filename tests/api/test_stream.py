"""virStream: download and upload through the fake storage driver."""

from __future__ import annotations

import threading

import pytest

import pyvirt


def test_download_recv_all(conn, state):
    vol = conn.storagePoolLookupByName("default-pool").storageVolLookupByName("disk.img")
    stream = conn.newStream()
    assert vol.download(stream, 0, 0) == 0
    chunks: list[bytes] = []
    stream.recvAll(lambda _st, data, acc: acc.append(data), chunks)
    assert b"".join(chunks) == state.volume_data
    assert stream.finish() == 0


def test_recv_splits_chunks_and_reports_eof(conn):
    vol = conn.storagePoolLookupByName("default-pool").storageVolLookupByName("disk.img")
    stream = conn.newStream()
    vol.download(stream, 0, 12)
    assert stream.recv(5) == b"01234"
    assert stream.recv(100) == b"5678901"
    assert stream.recv(100) == b""


def test_upload_send_all(conn, state):
    vol = conn.storagePoolLookupByName("default-pool").storageVolLookupByName("disk.img")
    stream = conn.newStream()
    vol.upload(stream, 0, 6)
    source = [b"abc", b"def", b""]
    stream.sendAll(lambda _st, _n, src: src.pop(0), source)
    assert stream.finish() == 0
    assert state.uploaded == b"abcdef"


def test_send_before_driver_listens_is_buffered():
    from pyvirt.api.stream import StreamEnd, virStream
    end = StreamEnd()
    stream = virStream(None, end)
    stream._attach()
    assert stream.send(b"xy") == 2
    got: list[bytes] = []
    end.on_data(got.append)
    assert got == [b"xy"]


def test_handler_failure_aborts_and_reraises(conn):
    stream = conn.newStream()
    stream._attach().write(b"data")

    def boom(*_args):
        raise ValueError("no")

    with pytest.raises(ValueError):
        stream.recvAll(boom, None)
    assert stream._end.aborted_by_app


def test_driver_abort_surfaces_as_error(conn):
    stream = conn.newStream()
    stream._attach().abort()
    with pytest.raises(pyvirt.libvirtError):
        stream.recv(10)


def test_read_only_upload_is_denied(ro):
    vol = ro.storagePoolLookupByName("default-pool").storageVolLookupByName("disk.img")
    with pytest.raises(pyvirt.libvirtError) as info:
        vol.upload(ro.newStream(), 0, 0)
    assert info.value.get_error_code() == pyvirt.VIR_ERR_OPERATION_DENIED


def test_unbound_stream_answers_like_libvirt(conn):
    stream = conn.newStream()
    for call, name in [(lambda: stream.send(b"x"), "virStreamSend"),
                       (lambda: stream.recv(1), "virStreamRecv"),
                       (stream.finish, "virStreamFinish")]:
        with pytest.raises(pyvirt.libvirtError) as info:
            call()
        err = info.value
        assert (err.get_error_code(), err.get_error_domain()) == (pyvirt.VIR_ERR_NO_SUPPORT,
                                                                 pyvirt.VIR_FROM_STREAMS)
        assert str(err).endswith(": " + name)
    assert stream.abort() == 0


def test_nonblocking_stream_answers_minus_two(conn):
    stream = conn.newStream(pyvirt.VIR_STREAM_NONBLOCK)
    end = stream._attach()
    assert stream.recv(10) == -2
    end.write(b"ok")
    assert stream.recv(10) == b"ok"
    with pytest.raises(pyvirt.libvirtError):
        stream.recvAll(lambda *a: 0, None)


def test_blocking_recv_waits_for_the_driver(conn):
    stream = conn.newStream()
    end = stream._attach()
    writer = threading.Thread(target=lambda: (end.write(b"late"), end.finish()))
    writer.start()
    assert stream.recv(10) == b"late"
    assert stream.recv(10) == b""
    writer.join()


def test_console_stream_with_events(conn):
    pyvirt.virEventRegisterDefaultImpl()
    dom = conn.lookupByName("test")
    stream = conn.newStream(pyvirt.VIR_STREAM_NONBLOCK)
    assert dom.openConsole(None, stream, 0) == 0
    seen: list[tuple[int, bytes]] = []

    def on_event(st, events, acc):
        data = st.recv(100) if events & pyvirt.VIR_STREAM_EVENT_READABLE else b""
        acc.append((events, data))

    stream.eventAddCallback(pyvirt.VIR_STREAM_EVENT_READABLE, on_event, seen)
    for _ in range(10):
        if seen:
            break
        pyvirt.virEventRunDefaultImpl()
    assert seen[0] == (pyvirt.VIR_STREAM_EVENT_READABLE, b"login: ")
    stream.send(b"root\n")
    for _ in range(10):
        if len(seen) > 1:
            break
        pyvirt.virEventRunDefaultImpl()
    assert seen[1][1] == b"root\n"
    stream.eventRemoveCallback()
    assert stream.finish() == 0


def test_read_only_console_is_denied(ro):
    with pytest.raises(pyvirt.libvirtError) as info:
        ro.lookupByName("test").openConsole(None, ro.newStream(), 0)
    assert str(info.value).endswith("virDomainOpenConsole")


def test_a_failed_bind_leaves_the_stream_unbound(conn):
    stream = conn.newStream()

    def refuse(end):
        raise pyvirt.libvirtError("no")

    with pytest.raises(pyvirt.libvirtError):
        stream._bind(refuse)
    with pytest.raises(pyvirt.libvirtError) as info:
        stream.recv(1)                   # would block forever if it were bound
    assert info.value.get_error_code() == pyvirt.VIR_ERR_NO_SUPPORT
