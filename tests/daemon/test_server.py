"""pyvirtd on real sockets: handshake, read-only socket, bad input, concurrency."""

from __future__ import annotations

import os
import random
import socket
import stat
import struct

import pytest

from pyvirt.errors import (VIR_ERR_OPERATION_DENIED, VIR_ERR_RPC,
                           libvirtError)
from pyvirt.remote.client import RemoteClient, decode_error
from pyvirt.remote.protocol import KEEPALIVE_PROGRAM, REMOTE_PROGRAM, TABLE
from pyvirt.rpc.packet import Header, MessageStatus, MessageType, encode_message

from .conftest import SlowHypervisor


def connect(daemon, kind: str = "rw") -> RemoteClient:
    if kind == "tcp":
        return RemoteClient.tcp("127.0.0.1", daemon.tcp_port, timeout=10)
    return RemoteClient.unix(daemon.rw_path if kind == "rw" else daemon.ro_path, timeout=10)


def is_closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("kind", ["rw", "tcp"])
def test_handshake_and_list(daemon, kind):
    client = connect(daemon, kind)
    client.open()
    result = client.call("CONNECT_LIST_ALL_DOMAINS", need_results=1, flags=0)
    assert [d.name for d in result["domains"]] == ["test"]
    assert client.call("CONNECT_IS_SECURE") == (1 if kind == "rw" else 0)
    client.call("CONNECT_CLOSE")
    client.close()


def test_socket_permissions(make_daemon):
    running = make_daemon(unix_sock_rw_perms=0o700, unix_sock_ro_perms=0o777)
    assert stat.S_IMODE(os.stat(running.rw_path).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(running.ro_path).st_mode) == 0o777


def test_read_only_socket_denies_mutations_and_stays_up(daemon):
    client = connect(daemon, "ro")
    client.open()
    dom = client.call("DOMAIN_LOOKUP_BY_NAME", name="test")
    with pytest.raises(libvirtError) as err:
        client.call("DOMAIN_DESTROY", dom=dom)
    assert err.value.get_error_code() == VIR_ERR_OPERATION_DENIED
    assert client.call("DOMAIN_GET_STATE", dom=dom, flags=0)["state"] == 1
    client.close()


def test_unknown_procedure_keeps_the_connection(daemon):
    client = connect(daemon)
    client.open()
    with pytest.raises(libvirtError) as err:
        client.call_raw(4242)
    assert err.value.err[:3] == (VIR_ERR_RPC, 7, "unknown procedure: 4242")   # as libvirtd
    assert client.call("CONNECT_GET_TYPE") == "TEST"
    client.close()


@pytest.mark.parametrize("prog, vers", [(0x12345678, 1), (REMOTE_PROGRAM, 2)])
def test_wrong_program_or_version_is_answered(daemon, prog, vers):
    client = connect(daemon)
    with pytest.raises(libvirtError) as err:
        client.call_raw(3, prog=prog, vers=vers)
    assert err.value.get_error_code() == VIR_ERR_RPC
    assert str(err.value) == f"Cannot find program {prog} version {vers}"
    client.open()
    assert client.call("CONNECT_GET_TYPE") == "TEST"
    client.close()


def test_garbage_xdr_is_answered(daemon):
    client = connect(daemon)
    client.open()
    with pytest.raises(libvirtError) as err:
        client.call_raw(23, b"\xff\xff\xff\xff")
    assert err.value.get_error_code() == VIR_ERR_RPC
    assert client.call("CONNECT_GET_TYPE") == "TEST"
    client.close()


def test_replies_and_messages_from_a_client_are_ignored_like_libvirtd(daemon):
    client = connect(daemon)
    client.send(Header(REMOTE_PROGRAM, 1, 3, MessageType.REPLY, 77, 0))
    client.send(Header(REMOTE_PROGRAM, 1, 3, MessageType.MESSAGE, 78, 0))
    client.open()                      # the next answers are for the calls, nothing else
    assert client.call("CONNECT_GET_TYPE") == "TEST"
    assert client.other == []
    client.close()


def test_unexpected_status_is_answered(daemon):
    client = connect(daemon)
    client.send(Header(REMOTE_PROGRAM, 1, 3, MessageType.CALL, 77, MessageStatus.CONTINUE))
    reply = client.wait_reply(77)
    assert str(decode_error(reply.body)) == "Unexpected message status 2"
    client.close()


def test_call_with_fds_drops_the_client_like_libvirtd(daemon):
    client = connect(daemon)
    client.send(Header(REMOTE_PROGRAM, 1, 3, MessageType.CALL_WITH_FDS, 5, 0), b"\0")
    assert is_closed_by_peer(client.sock)
    client.close()


def test_oversized_frame_drops_only_that_client(daemon):
    bad = socket.socket(socket.AF_UNIX)
    bad.settimeout(10)
    bad.connect(daemon.rw_path)
    bad.sendall(struct.pack(">I", 64 * 1024 * 1024))
    assert is_closed_by_peer(bad)
    bad.close()
    good = connect(daemon)
    good.open()
    assert good.call("CONNECT_GET_TYPE") == "TEST"
    good.close()


def test_truncated_frame_then_hangup_leaves_daemon_up(daemon):
    bad = socket.socket(socket.AF_UNIX)
    bad.connect(daemon.rw_path)
    bad.sendall(struct.pack(">IIII", 40, REMOTE_PROGRAM, 1, 3))
    bad.close()
    good = connect(daemon)
    good.open()
    assert good.call("CONNECT_GET_TYPE") == "TEST"
    good.close()


def test_silent_client_does_not_block_others(daemon):
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(daemon.rw_path)
    client = connect(daemon)
    client.open()
    assert client.call("CONNECT_GET_TYPE") == "TEST"
    client.close()
    silent.close()


def test_keepalive_ping_gets_pong(daemon):
    client = connect(daemon)
    client.send(Header(KEEPALIVE_PROGRAM, 1, 1, MessageType.MESSAGE, 0, MessageStatus.OK))
    pong = client.receive()
    assert (pong.header.prog, pong.header.proc, pong.header.type) == (KEEPALIVE_PROGRAM, 2, 2)
    client.close()


def test_long_call_does_not_block_other_clients(daemon):
    SlowHypervisor.release.clear()
    SlowHypervisor.entered.clear()
    slow = connect(daemon)
    slow.open("slow:///")
    slow.send(Header(REMOTE_PROGRAM, 1, 59, MessageType.CALL, 100, MessageStatus.OK))
    assert SlowHypervisor.entered.wait(10)
    other = connect(daemon)
    other.open("slow:///")
    assert other.call("CONNECT_GET_TYPE") == "SLOW"
    same_client = slow.call("CONNECT_GET_TYPE")      # the blocked client's other calls too
    assert same_client == "SLOW"
    SlowHypervisor.release.set()
    assert slow.wait_reply(100).header.status == MessageStatus.OK
    slow.close()
    other.close()


def test_flooding_client_gets_every_answer(make_daemon):
    running = make_daemon(max_client_requests=2)
    client = connect(running)
    client.open()
    count = 300
    for serial in range(1000, 1000 + count):
        client.send(Header(REMOTE_PROGRAM, 1, 3, MessageType.CALL, serial, MessageStatus.OK))
    answered = {client.wait_reply(serial).header.serial for serial in range(1000, 1000 + count)}
    assert answered == set(range(1000, 1000 + count))
    client.close()


def test_max_clients_drops_the_extra_connection(make_daemon):
    running = make_daemon(max_clients=1)
    first = connect(running)
    first.open()
    extra = socket.socket(socket.AF_UNIX)
    extra.settimeout(10)
    extra.connect(running.rw_path)
    assert is_closed_by_peer(extra)
    assert first.call("CONNECT_GET_TYPE") == "TEST"
    first.close()
    extra.close()


def test_events_are_delivered_as_messages(daemon):
    watcher = connect(daemon)
    watcher.open()
    callback_id = watcher.call("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", eventID=0, dom=None)
    actor = connect(daemon)
    actor.open()
    # a domain of its own: test:///default's "test" stays as other tests expect it
    dom = actor.call("DOMAIN_CREATE_XML", xml_desc="<domain type='test'><name>evented</name>"
                     "<memory>8192</memory><os><type>hvm</type></os></domain>", flags=0)
    assert watcher.wait_event()[1]["event"] == 2                 # started
    actor.call("DOMAIN_SUSPEND", dom=dom)
    name, body = watcher.wait_event()
    assert name == "DOMAIN_EVENT_CALLBACK_LIFECYCLE"
    assert (body["callbackID"], body["dom"].name, body["event"]) == (callback_id, "evented", 3)
    actor.call("DOMAIN_RESUME", dom=dom)
    assert watcher.wait_event()[1]["event"] == 4
    actor.call("DOMAIN_DESTROY", dom=dom)
    actor.close()
    watcher.close()


def test_stop_removes_sockets(make_daemon):
    running = make_daemon()
    client = connect(running)
    client.open()
    running.stop()
    assert not os.path.exists(running.rw_path)
    assert not os.path.exists(running.ro_path)
    assert is_closed_by_peer(client.sock)
    client.close()


def test_second_daemon_on_same_socket_is_refused(make_daemon, tmp_path):
    make_daemon()
    with pytest.raises(OSError, match="in use"):
        make_daemon()


def test_daemon_pings_a_keepalive_client_and_drops_it_when_silent(make_daemon):
    running = make_daemon(keepalive_interval=1, keepalive_count=1)
    client = connect(running)
    assert client.call("CONNECT_SUPPORTS_FEATURE", feature=10) == 1
    ping = client.receive()
    assert (ping.header.prog, ping.header.proc, ping.header.type) == (KEEPALIVE_PROGRAM, 1, 2)
    with pytest.raises(libvirtError, match="closed"):
        while True:               # stay silent: the daemon gives up on us
            client.receive()
    client.close()



def test_random_frames_never_take_the_daemon_down(daemon):
    """Seeded garbage: well-framed messages with random headers and bodies."""
    rng = random.Random(20261126)
    numbers = sorted(TABLE.procedures)
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(10)
    sock.connect(daemon.rw_path)
    open_call = RemoteClient(sock)
    open_call.open()
    for serial in range(1, 400):
        proc = rng.choice(numbers) if rng.random() < 0.8 else rng.randrange(0, 2**31)
        body = rng.randbytes(rng.choice([0, 3, 4, 8, 17, 64, 300]))
        prog = REMOTE_PROGRAM if rng.random() < 0.9 else rng.randrange(2**32)
        header = Header(prog, 1, proc, rng.choice([0, 0, 0, 1, 2, 3, 5, 6]), 10_000 + serial,
                        rng.choice([0, 0, 1, 2]))
        if proc in (1, 2) or (proc in TABLE.procedures and TABLE.procedures[proc].stream):
            continue        # no re-open / close / streams: keep the session in one piece
        sock.sendall(encode_message(header, body))
    assert open_call.call("CONNECT_GET_TYPE") == "TEST"      # the same connection still works
    check = connect(daemon)
    check.open()
    assert check.call("CONNECT_GET_TYPE") == "TEST"
    check.close()
    sock.close()


def test_read_write_socket_gets_the_configured_group(make_daemon):
    import grp
    group = grp.getgrgid(os.getgid()).gr_name
    running = make_daemon(unix_sock_group=group, unix_sock_rw_perms=0o770)
    info = os.stat(running.rw_path)
    assert (info.st_gid, stat.S_IMODE(info.st_mode)) == (os.getgid(), 0o770)
