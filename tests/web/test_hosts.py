"""Hosts: lazy connections, numbering, reopening after a dropped connection."""

from __future__ import annotations

import pytest

import pyvirt
from pyvirt.web.hosts import HostList, UnknownHost


def test_hosts_open_lazily_and_close():
    hosts = HostList(["test:///default", "test:///default"])
    first = hosts.get("0")
    assert not first.is_open
    assert first.conn.getType() == "TEST" and first.is_open
    assert first.conn is first.conn                       # one connection, kept
    hosts.close_all()
    assert not first.is_open


@pytest.mark.parametrize("index", ["2", "-1", "x", ""])
def test_unknown_host_numbers(index):
    with pytest.raises(UnknownHost, match="this manager has 2"):
        HostList(["test:///default", "test:///default"]).get(index)


def test_a_dropped_connection_is_reopened():
    host = HostList(["test:///default"]).get(0)
    dropped = host.conn
    host._on_close(dropped, pyvirt.VIR_CONNECT_CLOSE_REASON_EOF, None)   # as the driver would
    assert not host.is_open and host.last_error == "connection closed (reason 1)"
    fresh = host.conn
    assert fresh is not dropped and fresh.getType() == "TEST"
    host.close()
    dropped.close()


def test_an_unopenable_uri_keeps_its_error():
    host = HostList(["nosuchdriver:///"]).get(0)
    with pytest.raises(pyvirt.libvirtError):
        host.conn
    assert host.last_error.startswith("Failed to connect socket to ")
    assert not host.is_open
