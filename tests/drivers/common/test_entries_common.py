"""The domain entry points the QEMU and LXC drivers share (drivers/common/entries.py,
facts.py, configs.py, domains.check_duplicates), driven over a stand-in driver whose
lifecycle and state_dir modules record what they are asked."""

from __future__ import annotations

import logging
import threading
import uuid as uuidlib
from types import SimpleNamespace

import pytest

from pyvirt.drivers.base import domain_ref
from pyvirt.drivers.common.configs import load_persistent
from pyvirt.drivers.common.domains import check_duplicates
from pyvirt.drivers.common.entries import DomainEntries, check_flags
from pyvirt.errors import (VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_FAILED,
                           VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, VIR_FROM_LXC,
                           libvirtError)
from pyvirt.objects import numbers as n
from pyvirt.objects.domain_list import DomainObjList
from pyvirt.objects.domain_obj import DomainObj
from pyvirt.objects.numbers import DomainEvent as E, DomainState

UUID_A = uuidlib.UUID("11111111-2222-3333-4444-555555555555")


class Definition:
    """A parsed definition as far as the shared entries look at it."""

    def __init__(self, name: str, uuid: uuidlib.UUID = UUID_A) -> None:
        self.name, self.uuid = name, str(uuid)

    def to_xml(self, inactive: bool = False, secure: bool = False) -> str:
        return f"<domain><name>{self.name}</name></domain>"


class Events:
    def __init__(self) -> None:
        self.queued: list[tuple] = []
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1

    def deregister_owner(self, owner) -> None:
        pass


class Recorder:
    """Stands in for a driver's lifecycle and state_dir modules."""

    def __init__(self, fail_start: bool = False) -> None:
        self.calls: list[tuple] = []
        self.fail_start = fail_start

    def start(self, drv, dom, flags, live=None):
        self.calls.append(("start", dom.name, flags))
        if self.fail_start:
            raise libvirtError("boom", code=VIR_ERR_OPERATION_FAILED, domain=VIR_FROM_LXC)
        dom.mark_started(drv.domains.next_id(), live or dom.persistent_def)
        dom.set_state(DomainState.RUNNING, 1)

    def destroy(self, drv, dom, flags=0):
        self.calls.append(("destroy", dom.name, flags))
        raise libvirtError("cannot stop", code=VIR_ERR_OPERATION_FAILED, domain=VIR_FROM_LXC)

    def lifecycle_event(self, drv, dom, event, detail):
        drv.events.queued.append((dom.name, int(event), int(detail)))

    def save_config(self, dirs, name, xml):
        self.calls.append(("save_config", name))

    def delete_config(self, dirs, name):
        self.calls.append(("delete_config", name))

    def set_autostart(self, dirs, name, on):
        self.calls.append(("set_autostart", name, on))


class Table(DomainEntries):
    _error_domain = VIR_FROM_LXC
    _prefix = "fake"
    _msg_undefine_transient = "Cannot undefine transient domain"

    def __init__(self, recorder: Recorder) -> None:
        self.drv = SimpleNamespace(domains=DomainObjList(), events=Events(),
                                   lock=threading.RLock(), dirs=None)
        self._lifecycle = self._state_dir = recorder
        self._closed = False
        self._autodestroy: set[bytes] = set()

    _ref = staticmethod(domain_ref)

    def _parse(self, xml, validate):
        ddef = Definition(xml)
        return ddef, uuidlib.UUID(ddef.uuid).bytes, [f"warned {validate}"]


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def test_unsupported_flags_name_the_function_and_the_error_domain():
    with pytest.raises(libvirtError) as caught:
        check_flags(0x5, 0x1, "lxcDomainReboot", VIR_FROM_LXC)
    err = caught.value
    assert err.get_error_message() == "unsupported flags (0x4) in function lxcDomainReboot"
    assert (err.get_error_code(), err.get_error_domain()) == (VIR_ERR_INVALID_ARG, VIR_FROM_LXC)


def test_define_adds_then_updates_saves_the_config_and_queues_events(rec):
    table = Table(rec)
    ref = table.domain_define_xml_flags("vm", n.DEFINE_VALIDATE)
    table.domain_define_xml("vm")
    assert ref.name == "vm"
    assert rec.calls == [("save_config", "vm"), ("save_config", "vm")]
    assert table.drv.events.queued == [("vm", E.DEFINED, n.DEFINED_ADDED),
                                       ("vm", E.DEFINED, n.DEFINED_UPDATED)]
    assert table.domain_get_messages(ref) == ["warned False"]
    assert table.drv.events.flushes == 2


def test_a_create_that_fails_leaves_no_domain_behind():
    table = Table(Recorder(fail_start=True))
    with pytest.raises(libvirtError, match="boom"):
        table.domain_create_xml("vm", 0)
    assert table.drv.domains.find_by_name("vm") is None


def test_create_with_unknown_flags_is_refused_with_the_drivers_function_name(rec):
    with pytest.raises(libvirtError, match=r"unsupported flags \(0x1\) in function "
                                           r"fakeDomainCreateXML"):
        Table(rec).domain_create_xml("vm", n.START_PAUSED)


def test_undefine_of_a_transient_domain_uses_the_drivers_wording(rec):
    table = Table(rec)
    ref = table.domain_create_xml("vm", 0)
    with pytest.raises(libvirtError, match="^Requested operation is not valid: "
                                           "Cannot undefine transient domain$") as caught:
        table.domain_undefine(ref)
    assert caught.value.get_error_code() == VIR_ERR_OPERATION_INVALID
    assert table.domain_get_id(ref) == 1 and table.domain_get_state(ref)[0] == 1


def test_undefine_of_an_inactive_domain_removes_it(rec):
    table = Table(rec)
    ref = table.domain_define_xml("vm")
    table.domain_set_autostart(ref, True)
    table.domain_undefine_flags(ref, 0)
    assert table.drv.domains.find_by_name("vm") is None
    assert rec.calls[-2:] == [("set_autostart", "vm", True), ("delete_config", "vm")]
    assert table.drv.events.queued[-1] == ("vm", E.UNDEFINED, n.UNDEFINED_REMOVED)


def test_close_destroys_autodestroy_domains_and_logs_under_the_drivers_logger(rec, caplog):
    table = Table(rec)
    table.domain_create_xml("vm", n.START_AUTODESTROY)
    with caplog.at_level(logging.ERROR):
        table.connect_close()
        table.connect_close()                       # a second close does nothing
    assert rec.calls[-1] == ("destroy", "vm", 0)
    assert [(r.name, r.getMessage()) for r in caplog.records] == \
        [(__name__, "autodestroy of 'vm' failed: cannot stop")]


def test_facts_read_off_the_domain(rec):
    table = Table(rec)
    ref = table.domain_define_xml("vm")
    assert (table.domain_is_active(ref), table.domain_is_persistent(ref),
            table.domain_is_updated(ref), table.domain_get_autostart(ref)) == \
        (False, True, False, False)


def test_check_duplicates_gives_libvirts_clash_errors():
    domains = DomainObjList()
    running = domains.add(DomainObj(name="a", uuid=UUID_A.bytes))
    assert check_duplicates(domains, "a", UUID_A.bytes, live=False) is running
    assert check_duplicates(domains, "b", uuidlib.uuid4().bytes, live=True) is None
    running.set_state(DomainState.RUNNING, 1)
    cases = [("b", UUID_A.bytes, False, f"domain 'a' is already defined with uuid {UUID_A}"),
             ("a", uuidlib.uuid4().bytes, False, f"domain 'a' already exists with uuid {UUID_A}"),
             ("a", UUID_A.bytes, True, "domain 'a' is already active")]
    for name, uuid, live, message in cases:
        with pytest.raises(libvirtError) as caught:
            check_duplicates(domains, name, uuid, live)
        assert message in caught.value.get_error_message()
        assert caught.value.get_error_domain() == VIR_FROM_DOMAIN


def test_load_persistent_skips_what_does_not_parse(caplog):
    configs = [("good", "good"), ("bad", "bad")]
    state_dir = SimpleNamespace(load_configs=lambda dirs: configs,
                                is_autostart=lambda dirs, name: name == "good")
    drv = SimpleNamespace(domains=DomainObjList(),
                          dirs=SimpleNamespace(config_path=lambda stem: f"/etc/{stem}.xml"))

    def parse(xml: str) -> Definition:
        if xml == "bad":
            raise libvirtError("no name", code=VIR_ERR_OPERATION_FAILED, domain=VIR_FROM_LXC)
        return Definition(f" {xml} ")

    log = logging.getLogger("pyvirt.tests.configs")
    with caplog.at_level(logging.ERROR, logger=log.name):
        added = load_persistent(drv, state_dir, parse, "container", log)
    assert [(d.name, d.autostart) for d in added] == [("good", True)]
    assert drv.domains.find_by_name("good") is added[0]
    assert [r.getMessage() for r in caplog.records] == \
        ["skipping container config /etc/bad.xml: no name"]


def test_snapshot_counts_and_names_come_from_the_drivers_listings():
    from pyvirt.drivers.common.facts import SnapshotCountEntries

    class Snapshots(SnapshotCountEntries):
        def domain_list_all_snapshots(self, ref, flags=0):
            return [SimpleNamespace(name=f"s{i}") for i in range(3 + flags)]

        def domain_snapshot_list_all_children(self, snap_ref, flags=0):
            return [snap_ref]

    table = Snapshots()
    assert table.domain_snapshot_num(None, 1) == 4
    assert table.domain_snapshot_list_names(None) == ["s0", "s1", "s2"]
    assert table.domain_snapshot_list_names(None, 2) == ["s0", "s1"]
    assert table.domain_snapshot_num_children("s0") == 1


def test_undefine_checks_refuse_before_anything_is_dropped():
    from pyvirt.drivers.common.domains import check_undefine
    from pyvirt.errors import VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, libvirtError
    from pyvirt.objects import numbers as num
    from pyvirt.objects.domain_obj import DomainObj
    from pyvirt.objects.snapshot_tree import SnapshotObj

    dom = DomainObj(name="vm", uuid=bytes(16), managed_save="<domain/>")
    dom.snapshots.add(SnapshotObj("s1", None))
    try:            # the managed save may go, the snapshots may not: nothing is dropped
        check_undefine(dom, num.UNDEFINE_MANAGED_SAVE, VIR_FROM_QEMU)
        raise AssertionError("undefine with snapshots was allowed")
    except libvirtError as err:
        assert err.get_error_code() == VIR_ERR_OPERATION_INVALID
        assert err.get_error_message() == ("Requested operation is not valid: cannot delete "
                                           "inactive domain with 1 snapshots")
    assert check_undefine(dom, num.UNDEFINE_MANAGED_SAVE | num.UNDEFINE_SNAPSHOTS_METADATA,
                          VIR_FROM_QEMU) == (True, True)
    assert dom.managed_save is not None and len(dom.snapshots) == 1
