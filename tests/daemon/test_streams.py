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
    assert answer.header.status == MessageStatus.ERROR
    assert "stream aborted at client request" in str(decode_error(answer.body))
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
