"""Streams through pyvirtd: volume upload/download byte-exact, with the real
virsh where installed and with hand-driven packets."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess

import pytest

from pyvirt.errors import VIR_ERR_NO_STORAGE_VOL, libvirtError
from pyvirt.remote.client import RemoteClient, decode_error
from pyvirt.remote.protocol import REMOTE_PROGRAM
from pyvirt.rpc.packet import Header, MessageStatus, MessageType

from .conftest import FakeVolumes

VIRSH = shutil.which("virsh")


@pytest.fixture
def volumes():
    saved = dict(FakeVolumes.data)
    yield FakeVolumes.data
    FakeVolumes.data.clear()
    FakeVolumes.data.update(saved)


def open_client(daemon) -> tuple[RemoteClient, dict]:
    client = RemoteClient.unix(daemon.rw_path, timeout=10)
    client.open("streamfake:///")
    pool = client.call("STORAGE_POOL_LOOKUP_BY_NAME", name="p")
    vol = client.call("STORAGE_VOL_LOOKUP_BY_NAME", pool=pool, name="v1")
    return client, vol


def test_download_packets(daemon, volumes):
    client, vol = open_client(daemon)
    body = client.table.procedures[209].args.encode(dict(vol=vol, offset=0, length=0, flags=0))
    assert client.call_raw(209, body) == b""
    serial = client._serial
    data = client.receive()
    assert (data.header.type, data.header.status, data.header.serial) == (
        MessageType.STREAM, MessageStatus.CONTINUE, serial)
    assert data.body == b"hello volume\n"
    eof = client.receive()
    assert (eof.header.status, eof.body) == (MessageStatus.CONTINUE, b"")
    client.send(Header(REMOTE_PROGRAM, 1, 209, MessageType.STREAM, serial, MessageStatus.OK))
    done = client.receive()
    assert (done.header.type, done.header.status) == (MessageType.STREAM, MessageStatus.OK)
    pool = client.call("STORAGE_POOL_LOOKUP_BY_NAME", name="p")
    assert client.call("STORAGE_POOL_IS_ACTIVE", pool=pool) == 1     # connection still fine
    client.close()


def test_upload_packets(daemon, volumes):
    client, vol = open_client(daemon)
    body = client.table.procedures[208].args.encode(dict(vol=vol, offset=0, length=0, flags=0))
    client.call_raw(208, body)
    serial = client._serial
    for chunk in (b"abc", b"def"):
        client.send(Header(REMOTE_PROGRAM, 1, 208, MessageType.STREAM, serial,
                           MessageStatus.CONTINUE), chunk)
    client.send(Header(REMOTE_PROGRAM, 1, 208, MessageType.STREAM, serial, MessageStatus.OK))
    done = client.receive()
    assert done.header.status == MessageStatus.OK
    assert volumes["v1"] == b"abcdef"
    client.close()


def test_client_abort_is_answered(daemon, volumes):
    client, vol = open_client(daemon)
    body = client.table.procedures[208].args.encode(dict(vol=vol, offset=0, length=0, flags=0))
    client.call_raw(208, body)
    serial = client._serial
    client.send(Header(REMOTE_PROGRAM, 1, 208, MessageType.STREAM, serial, MessageStatus.ERROR))
    answer = client.receive()
    # libvirtd confirms a client's abort with an empty STREAM/OK (the real client's
    # virStreamAbort then returns 0)
    assert (answer.header.type, answer.header.status, answer.body) == (
        MessageType.STREAM, MessageStatus.OK, b"")
    assert volumes["v1"] == b"hello volume\n"
    client.close()


def test_stream_on_missing_volume_fails_cleanly(daemon, volumes):
    client, vol = open_client(daemon)
    missing = dataclasses.replace(vol, name="nope")
    body = client.table.procedures[209].args.encode(dict(vol=missing, offset=0, length=0,
                                                         flags=0))
    with pytest.raises(libvirtError) as err:
        client.call_raw(209, body)
    assert err.value.get_error_code() == VIR_ERR_NO_STORAGE_VOL
    assert client.call("STORAGE_POOL_IS_ACTIVE", pool=client.call(
        "STORAGE_POOL_LOOKUP_BY_NAME", name="p")) == 1
    client.close()


@pytest.mark.skipif(VIRSH is None, reason="real virsh not installed")
def test_real_virsh_vol_upload_download_byte_exact(daemon, volumes, tmp_path):
    uri = f"streamfake+unix:///?socket={daemon.rw_path}"
    payload = bytes(range(256)) * 4099 + b"tail"       # several 256 KiB packets, odd size
    source = tmp_path / "in.bin"
    source.write_bytes(payload)
    up = subprocess.run([VIRSH, "-c", uri, "vol-upload", "--pool", "p", "v1", str(source)],
                        capture_output=True, text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    assert volumes["v1"] == payload
    target = tmp_path / "out.bin"
    down = subprocess.run([VIRSH, "-c", uri, "vol-download", "--pool", "p", "v1", str(target)],
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert target.read_bytes() == payload


def test_console_stream_is_two_way(daemon):
    client = RemoteClient.unix(daemon.rw_path, timeout=10)
    client.open("slow:///")
    dom = client.call("DOMAIN_LOOKUP_BY_NAME", name="vm")
    body = client.table.procedures[201].args.encode(dict(dom=dom, dev_name=None, flags=0))
    assert client.call_raw(201, body) == b""
    serial = client._serial
    banner = client.receive()
    assert (banner.header.type, banner.header.serial, banner.body) == (
        MessageType.STREAM, serial, b"console serial0 of vm\r\n")
    client.send(Header(REMOTE_PROGRAM, 1, 201, MessageType.STREAM, serial,
                       MessageStatus.CONTINUE), b"ls\r")
    echo = client.receive()
    assert (echo.header.status, echo.body) == (MessageStatus.CONTINUE, b"LS\r")
    client.send(Header(REMOTE_PROGRAM, 1, 201, MessageType.STREAM, serial, MessageStatus.OK))
    assert client.receive().header.status == MessageStatus.OK
    assert client.call("CONNECT_GET_TYPE") == "SLOW"
    client.close()


def test_read_only_socket_cannot_open_a_console(daemon):
    client = RemoteClient.unix(daemon.ro_path, timeout=10)
    client.open("slow:///")
    dom = client.call("DOMAIN_LOOKUP_BY_NAME", name="vm")
    body = client.table.procedures[201].args.encode(dict(dom=dom, dev_name=None, flags=0))
    with pytest.raises(libvirtError) as err:
        client.call_raw(201, body)
    assert "read only access prevents virDomainOpenConsole" in str(err.value)
    client.close()


def test_driver_abort_reaches_the_client_as_stream_error(daemon, volumes):
    client = RemoteClient.unix(daemon.rw_path, timeout=10)
    client.open("streamfake:///")
    pool = client.call("STORAGE_POOL_LOOKUP_BY_NAME", name="p")
    vol = client.call("STORAGE_VOL_LOOKUP_BY_NAME", pool=pool, name="broken")
    body = client.table.procedures[209].args.encode(dict(vol=vol, offset=0, length=0, flags=0))
    client.call_raw(209, body)
    assert client.receive().body == b"part"
    failure = client.receive()
    assert (failure.header.type, failure.header.status) == (MessageType.STREAM,
                                                            MessageStatus.ERROR)
    assert str(decode_error(failure.body)) == "operation failed: read error on broken"
    assert client.call("STORAGE_POOL_IS_ACTIVE", pool=pool) == 1
    client.close()


@pytest.mark.skipif(VIRSH is None, reason="real virsh not installed")
def test_real_virsh_reports_a_failed_download(daemon, volumes, tmp_path):
    uri = f"streamfake+unix:///?socket={daemon.rw_path}"
    result = subprocess.run([VIRSH, "-c", uri, "vol-download", "--pool", "p", "broken",
                             str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "operation failed: read error on broken" in result.stderr


# --- sparse holes and the rate limit on a WireStream, without a socket ---------------
from pyvirt.daemon.stream import RateLimit, WireStream  # noqa: E402
from pyvirt.rpc.packet import (FrameSplitter, decode_stream_hole,  # noqa: E402
                               encode_stream_hole)


def wire(serial: int = 7) -> tuple[WireStream, list]:
    """A WireStream whose frames land, decoded, in a list; scheduling runs at once."""
    frames: list = []
    splitter = FrameSplitter()
    stream = WireStream(REMOTE_PROGRAM, 1, 209, serial,
                        lambda frame: frames.extend(splitter.feed(frame)),
                        lambda fn: fn(), lambda s: None)
    stream.opened()
    return stream, frames


def test_hole_codec_is_hyper_length_then_unsigned_flags():
    assert encode_stream_hole(1 << 33, 0) == bytes.fromhex("000000020000000000000000")
    assert decode_stream_hole(encode_stream_hole(5, 1)) == (5, 1)


def test_write_hole_sends_a_stream_hole_packet():
    stream, frames = wire()
    stream.sparse = True
    stream.write(b"abc")
    stream.write_hole(100 << 20)
    stream.finish()
    kinds = [(m.header.type, m.header.status, m.header.serial) for m in frames]
    assert kinds == [(MessageType.STREAM, MessageStatus.CONTINUE, 7),
                     (MessageType.STREAM_HOLE, MessageStatus.CONTINUE, 7),
                     (MessageType.STREAM, MessageStatus.CONTINUE, 7)]
    assert decode_stream_hole(frames[1].body) == (100 << 20, 0)
    assert frames[2].body == b""


def test_client_holes_reach_the_driver_in_order_even_before_it_listens():
    stream, _frames = wire()
    stream.sparse = True
    got: list = []
    stream.client_packet(MessageStatus.CONTINUE, b"one")
    stream.client_hole(encode_stream_hole(4096))
    stream.on_data(got.append, hole=lambda n: got.append(("hole", n)))
    stream.client_hole(encode_stream_hole(9))
    stream.client_packet(MessageStatus.CONTINUE, b"two")
    assert got == [b"one", ("hole", 4096), ("hole", 9), b"two"]


def test_a_hole_on_a_stream_that_is_not_sparse_fails_it_as_libvirt():
    stream, frames = wire()
    stream.on_data(lambda data: None)
    stream.client_hole(encode_stream_hole(10))
    assert stream.closed
    assert frames[-1].header.status == MessageStatus.ERROR
    assert str(decode_error(frames[-1].body)) == "Unexpected stream hole"


def test_a_malformed_hole_fails_the_stream():
    stream, frames = wire()
    stream.sparse = True
    stream.on_data(lambda data: None, hole=lambda n: None)
    stream.client_hole(b"\x00\x01")
    assert stream.closed and "Malformed stream hole packet" in str(decode_error(frames[-1].body))


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_token_bucket_with_a_fake_clock():
    clock = FakeClock()
    limit = RateLimit(1 << 20, clock)                  # 1 MiB/s, burst 1 MiB
    assert limit.charge(1 << 20) == 0.0
    assert limit.charge(512 << 10) == pytest.approx(0.5)
    assert limit.delay() == pytest.approx(0.5)
    clock.now += 0.25
    assert limit.delay() == pytest.approx(0.25)
    clock.now += 0.25
    assert limit.delay() == 0.0
    clock.now += 60                                    # idle time refills one burst only
    assert limit.charge(1 << 20) == 0.0
    assert limit.charge(1) > 0


def test_rate_limited_download_has_no_room_until_the_budget_refills():
    clock = FakeClock()
    stream, frames = wire()
    stream.limit_rate(1 << 20, clock)
    assert stream.has_room()
    stream.write(bytes(2 << 20))                       # 1 MiB over budget
    assert not stream.has_room()
    assert stream.room_delay() == pytest.approx(1.0)
    clock.now += 1.0
    assert stream.has_room() and stream.room_delay() == 0.0
    assert sum(len(m.body) for m in frames) == 2 << 20  # the data itself was not held back
    stream.write_hole(1 << 40)                         # holes cost nothing
    assert stream.has_room()


def test_rate_limited_upload_pauses_only_this_clients_reading():
    clock = FakeClock()
    stream, _frames = wire()
    stream.limit_rate(1 << 20, clock)
    pauses: list = []
    stream.pause = pauses.append
    got: list = []
    stream.on_data(got.append)
    stream.client_packet(MessageStatus.CONTINUE, bytes(1 << 20))
    assert pauses == []
    stream.client_packet(MessageStatus.CONTINUE, bytes(256 << 10))
    assert pauses == [pytest.approx(0.25)]
    assert len(got) == 2                               # delivered; the socket waits instead


def test_no_rate_limit_by_default():
    stream, _frames = wire()
    stream.write(bytes(8 << 20))
    assert stream.room_delay() == 0.0


def test_rate_limited_upload_through_the_daemon_keeps_other_clients_served(
        daemon, volumes, monkeypatch):
    import threading

    from pyvirt.daemon.client import ClientConnection
    from pyvirt.daemon.stream import WireStream as Wire

    pauses: list[float] = []
    original = Wire._deliver

    def counting(self, data):
        if self._rate is not None and not pauses:
            pause = self.pause
            self.pause = lambda seconds: (pauses.append(seconds), pause(seconds))
        return original(self, data)

    monkeypatch.setattr(ClientConnection, "max_stream_rate", 2 << 20)     # 2 MiB/s
    monkeypatch.setattr(Wire, "_deliver", counting)
    client, vol = open_client(daemon)
    body = client.table.procedures[208].args.encode(dict(vol=vol, offset=0, length=0, flags=0))
    client.call_raw(208, body)
    serial = client._serial
    payload = bytes(range(256)) * 4096 * 3                 # 3 MiB: over one burst

    def upload() -> None:
        for start in range(0, len(payload), 256 << 10):
            client.send(Header(REMOTE_PROGRAM, 1, 208, MessageType.STREAM, serial,
                               MessageStatus.CONTINUE), payload[start:start + (256 << 10)])
        client.send(Header(REMOTE_PROGRAM, 1, 208, MessageType.STREAM, serial,
                           MessageStatus.OK))

    sender = threading.Thread(target=upload)
    sender.start()
    other = RemoteClient.unix(daemon.rw_path, timeout=10)
    other.open("streamfake:///")
    assert other.call("STORAGE_POOL_IS_ACTIVE",
                      pool=other.call("STORAGE_POOL_LOOKUP_BY_NAME", name="p")) == 1
    other.close()
    sender.join(30)
    assert client.receive().header.status == MessageStatus.OK
    assert volumes["v1"] == payload
    assert pauses and all(p > 0 for p in pauses)
    client.close()
