"""DomainObjList lookups and virConnectListAllDomains filters; network/pool lists."""

import threading

import pytest

from pyvirt.objects import numbers as n
from pyvirt.objects.domain_list import DomainObjList
from pyvirt.objects.domain_obj import DomainObj
from pyvirt.objects.named_list import NamedObjList
from pyvirt.objects.network_obj import NetworkObj
from pyvirt.objects.numbers import DomainState as S
from pyvirt.objects.snapshot_tree import SnapshotObj


def dom(name, state=S.SHUTOFF, persistent=True, autostart=False, saved=False, snaps=0,
        dom_id=-1):
    d = DomainObj(name=name, uuid=name.encode().ljust(16, b"\0"),
                  persistent_def=object() if persistent else None, autostart=autostart,
                  managed_save="<domain/>" if saved else None)
    d.set_state(state, 0)
    d.id = dom_id
    for i in range(snaps):
        d.snapshots.add(SnapshotObj(name=f"s{i}", definition=None))
    return d


@pytest.fixture
def domains():
    lst = DomainObjList()
    lst.add(dom("run", S.RUNNING, dom_id=1, autostart=True, snaps=1))
    lst.add(dom("pause", S.PAUSED, dom_id=2))
    lst.add(dom("off", saved=True))
    lst.add(dom("trans", S.RUNNING, persistent=False, dom_id=3))
    lst.add(dom("crash", S.CRASHED, dom_id=4))
    return lst


def names(lst, flags):
    return sorted(d.name for d in lst.list(flags))


@pytest.mark.parametrize("flags, expected", [
    (0, ["crash", "off", "pause", "run", "trans"]),
    (n.LIST_DOMAINS_ACTIVE, ["crash", "pause", "run", "trans"]),
    (n.LIST_DOMAINS_INACTIVE, ["off"]),
    (n.LIST_DOMAINS_ACTIVE | n.LIST_DOMAINS_INACTIVE, ["crash", "off", "pause", "run", "trans"]),
    (n.LIST_DOMAINS_PERSISTENT, ["crash", "off", "pause", "run"]),
    (n.LIST_DOMAINS_TRANSIENT, ["trans"]),
    (n.LIST_DOMAINS_RUNNING, ["run", "trans"]),
    (n.LIST_DOMAINS_PAUSED, ["pause"]),
    (n.LIST_DOMAINS_SHUTOFF, ["off"]),
    (n.LIST_DOMAINS_OTHER, ["crash"]),
    (n.LIST_DOMAINS_RUNNING | n.LIST_DOMAINS_PAUSED, ["pause", "run", "trans"]),
    (n.LIST_DOMAINS_MANAGEDSAVE, ["off"]),
    (n.LIST_DOMAINS_NO_MANAGEDSAVE, ["crash", "pause", "run", "trans"]),
    (n.LIST_DOMAINS_AUTOSTART, ["run"]),
    (n.LIST_DOMAINS_NO_AUTOSTART, ["crash", "off", "pause", "trans"]),
    (n.LIST_DOMAINS_HAS_SNAPSHOT, ["run"]),
    (n.LIST_DOMAINS_NO_SNAPSHOT, ["crash", "off", "pause", "trans"]),
    (n.LIST_DOMAINS_ACTIVE | n.LIST_DOMAINS_PERSISTENT | n.LIST_DOMAINS_RUNNING, ["run"]),
])
def test_list_filters(domains, flags, expected):
    assert names(domains, flags) == expected


def test_lookups(domains):
    assert domains.find_by_name("off").name == "off"
    assert domains.find_by_name("nope") is None
    assert domains.find_by_uuid(b"run".ljust(16, b"\0")).name == "run"
    assert domains.find_by_id(2).name == "pause"
    assert domains.find_by_id(-1) is None
    assert domains.find_by_id(99) is None


def test_list_orders_active_by_id_then_inactive_by_name(domains):
    assert [d.name for d in domains.list()] == ["run", "pause", "trans", "crash", "off"]


def test_remove_and_ids(domains):
    domains.remove(domains.find_by_name("off"))
    assert domains.find_by_name("off") is None
    lst = DomainObjList(first_id=5)
    assert [lst.next_id(), lst.next_id()] == [5, 6]


def test_next_id_is_unique_across_threads():
    lst = DomainObjList()
    seen = []
    threads = [threading.Thread(target=lambda: seen.extend(lst.next_id() for _ in range(200)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 800


def test_named_list_filters():
    lst = NamedObjList()
    lst.add(NetworkObj("a", b"a" * 16, None, active=True, autostart=True))
    lst.add(NetworkObj("b", b"b" * 16, None, active=False))
    lst.add(NetworkObj("c", b"c" * 16, None, active=True, persistent=False))
    names_of = lambda flags: [x.name for x in lst.list(flags)]  # noqa: E731
    assert names_of(0) == ["a", "b", "c"]
    assert names_of(n.LIST_ACTIVE) == ["a", "c"]
    assert names_of(n.LIST_INACTIVE) == ["b"]
    assert names_of(n.LIST_ACTIVE | n.LIST_INACTIVE) == ["a", "b", "c"]
    assert names_of(n.LIST_TRANSIENT) == ["c"]
    assert names_of(n.LIST_PERSISTENT | n.LIST_AUTOSTART) == ["a"]
    assert names_of(n.LIST_NO_AUTOSTART) == ["b", "c"]
    assert lst.find_by_name("b").uuid == b"b" * 16
    assert lst.find_by_uuid(b"c" * 16).name == "c"


def test_name_index_follows_add_remove_rename_and_replacement():
    lst = DomainObjList()
    first = lst.add(dom("a"))
    assert lst.find_by_name("a") is first
    lst.rename(first, "b")
    assert lst.find_by_name("a") is None and lst.find_by_name("b") is first
    assert first.name == "b"
    same_uuid = DomainObj(name="c", uuid=first.uuid)
    lst.add(same_uuid)              # replaces the object with that uuid, and its name
    assert lst.find_by_name("b") is None and lst.find_by_name("c") is same_uuid
    lst.remove(first)               # no longer listed: changes nothing
    assert lst.find_by_name("c") is same_uuid and len(lst) == 1
    lst.remove(same_uuid)
    assert lst.find_by_name("c") is None and len(lst) == 0
