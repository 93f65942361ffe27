"""The remote driver: libvirt's client side of the wire. ``driver+transport://``
URIs (unix, tcp, tls, ssh, ext) reach a libvirt daemon (pyvirtd or libvirtd)
and its tables are the procedures of :mod:`pyvirt.remote.protocol`.

Call :func:`register` to put it in the driver registry (probe it after the
local drivers: ``test``, ``qemu``, ``lxc``)."""

from __future__ import annotations

from pyvirt.drivers.base import register_driver
from pyvirt.drivers.remote.driver import RemoteDriver, connect, daemon_uri

__all__ = ["RemoteDriver", "connect", "daemon_uri", "register"]


def register() -> None:
    register_driver(RemoteDriver())
