"""The default event loop and driver event delivery."""

from __future__ import annotations

import os

import pytest

import pyvirt
from pyvirt.api import event


@pytest.fixture
def loop():
    pyvirt.virEventRegisterDefaultImpl()
    return event.default_loop()


def _run_until(predicate, limit=50):
    """Iterate the default loop until ``predicate()``; fail after ``limit`` rounds."""
    for _ in range(limit):
        if predicate():
            return
        pyvirt.virEventRunDefaultImpl()
    assert predicate()


def test_zero_timeout_fires_each_iteration(loop):
    fired: list[int] = []
    timer = pyvirt.virEventAddTimeout(0, lambda t, acc: acc.append(t), fired)
    pyvirt.virEventRunDefaultImpl()
    pyvirt.virEventRunDefaultImpl()
    assert fired == [timer, timer]
    pyvirt.virEventUpdateTimeout(timer, -1)
    pyvirt.virEventAddTimeout(0, lambda *_: None, None)     # keeps the loop from blocking
    pyvirt.virEventRunDefaultImpl()
    assert len(fired) == 2
    assert pyvirt.virEventRemoveTimeout(timer) == 0


def test_remove_unknown_timer_fails(loop):
    with pytest.raises(pyvirt.libvirtError):
        pyvirt.virEventRemoveTimeout(987654)


def test_handle_reports_readable(loop):
    r, w = os.pipe()
    try:
        seen: list[tuple[int, int, int]] = []
        watch = pyvirt.virEventAddHandle(
            r, pyvirt.VIR_EVENT_HANDLE_READABLE,
            lambda wt, fd, ev, acc: acc.append((wt, fd, ev)), seen)
        os.write(w, b"x")
        _run_until(lambda: seen)
        assert seen[0] == (watch, r, pyvirt.VIR_EVENT_HANDLE_READABLE)
        assert pyvirt.virEventRemoveHandle(watch) == 0
    finally:
        os.close(r)
        os.close(w)


def test_lifecycle_callback_gets_libvirt_python_arguments(loop, conn):
    got: list[tuple] = []

    def on_lifecycle(c, dom, ev, detail, opaque):
        got.append((c, dom.name(), ev, detail, opaque))

    cb = conn.domainEventRegisterAny(None, pyvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                     on_lifecycle, "op")
    dom = conn.defineXML("<domain><name>vm</name></domain>")
    dom.create()
    dom.destroy()
    assert got == []                       # nothing runs outside the loop
    _run_until(lambda: len(got) == 2)
    assert got == [(conn, "vm", pyvirt.VIR_DOMAIN_EVENT_STARTED,
                    pyvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED, "op"),
                   (conn, "vm", pyvirt.VIR_DOMAIN_EVENT_STOPPED,
                    pyvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED, "op")]
    assert conn.domainEventDeregisterAny(cb) is None


def test_event_from_driver_thread_wakes_the_loop(loop, conn):
    got: list[str] = []
    conn.domainEventRegisterAny(conn.lookupByName("test"), pyvirt.VIR_DOMAIN_EVENT_ID_REBOOT,
                                lambda c, dom, opaque: got.append(dom.name()), None)
    conn._drv.hypervisor.emit_from_thread("test").join()
    pyvirt.virEventRunDefaultImpl()        # blocks until the queued event's timer is due
    _run_until(lambda: got)
    assert got == ["test"]


def test_legacy_domain_event_register(loop, conn):
    got: list[int] = []
    conn.domainEventRegister(lambda c, d, ev, detail, op: got.append(ev), None)
    conn.lookupByName("test").destroy()
    _run_until(lambda: got)
    assert got == [pyvirt.VIR_DOMAIN_EVENT_STOPPED]


def test_deregister_unknown_id_propagates_driver_error(loop, conn):
    with pytest.raises(pyvirt.libvirtError) as info:
        conn.domainEventDeregisterAny(99)
    assert "could not find event callback 99" in str(info.value)


def test_register_without_event_impl_fails_like_libvirt(conn, monkeypatch):
    monkeypatch.setattr(event, "_impl", None)
    with pytest.raises(pyvirt.libvirtError) as info:
        conn.domainEventRegisterAny(None, pyvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                    lambda *a: None, None)
    assert info.value.get_error_code() == pyvirt.VIR_ERR_INTERNAL_ERROR
    assert str(info.value) == "internal error: could not initialize domain event timer"


def test_custom_event_impl_receives_the_queue_timer(conn, monkeypatch):
    monkeypatch.setattr(event, "_impl", None)
    timers: dict[int, list] = {}

    def add_timeout(ms, cb, opaque):
        timers[7] = [ms, cb, opaque]
        return 7

    def update_timeout(timer, ms):
        timers[timer][0] = ms

    pyvirt.virEventRegisterImpl(None, None, None, add_timeout, update_timeout,
                                lambda t: 0)
    got: list[int] = []
    conn.domainEventRegisterAny(None, pyvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                lambda c, d, ev, det, op: got.append(ev), None)
    assert timers[7][0] == -1
    conn.lookupByName("test").destroy()
    assert timers[7][0] == 0               # the application's loop is asked to run it
    ms, cb, opaque = timers[7]
    cb(7, opaque)
    assert got == [pyvirt.VIR_DOMAIN_EVENT_STOPPED] and timers[7][0] == -1


def test_close_deregisters_the_connections_callbacks(loop):
    c = pyvirt.open("fake:///default")
    state = c._drv.extra["state"]
    c.domainEventRegisterAny(None, pyvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda *a: None, None)
    c.domainEventRegisterAny(None, pyvirt.VIR_DOMAIN_EVENT_ID_REBOOT, lambda *a: None, None)
    assert len(state.subs) == 2
    c.close()
    assert state.subs == {}


def test_network_events_need_driver_support(loop, conn):
    with pytest.raises(pyvirt.libvirtError) as info:
        conn.networkEventRegisterAny(None, pyvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE,
                                     lambda *a: None, None)
    assert info.value.get_error_code() == pyvirt.VIR_ERR_NO_SUPPORT
    assert str(info.value).endswith(": virConnectNetworkEventRegisterAny")


def test_event_id_out_of_range_is_invalid_arg(loop, conn):
    with pytest.raises(pyvirt.libvirtError) as info:
        conn.domainEventRegisterAny(None, 27, lambda *a: None, None)
    assert info.value.get_error_code() == pyvirt.VIR_ERR_INVALID_ARG
    assert str(info.value) == "eventID in virConnectDomainEventRegisterAny must be less than 27"
    highest = max(v for k, v in vars(pyvirt.constants).items()
                  if k.startswith("VIR_DOMAIN_EVENT_ID_"))
    assert highest == 26
