"""SnapshotTree links and the EventBroker's delivery."""

from pyvirt.objects.events import EventBroker
from pyvirt.objects.snapshot_tree import SnapshotObj, SnapshotTree


def tree():
    t = SnapshotTree()
    t.add(SnapshotObj("a", None))
    t.add(SnapshotObj("b", None, parent="a"))
    t.add(SnapshotObj("c", None, parent="b"))
    t.add(SnapshotObj("d", None, parent="a"))
    t.current = "c"
    return t


def test_tree_links():
    t = tree()
    assert [s.name for s in t.roots()] == ["a"]
    assert [s.name for s in t.children("a")] == ["d", "b"]        # newest first, as libvirt
    assert [s.name for s in t.descendants("a")] == ["d", "b", "c"]
    assert [s.name for s in t.topological()] == ["a", "d", "b", "c"]
    assert t.is_leaf("c") and not t.is_leaf("b")


def test_remove_reparents_children_and_moves_current():
    t = tree()
    t.remove("b")
    assert t.get("c").parent == "a"
    assert [s.name for s in t.children("a")] == ["c", "d"]   # moved ahead of the others
    t.remove("c")
    assert t.current == "a"


def test_roots_newest_first_and_redefine_in_place():
    t = tree()
    t.add(SnapshotObj("r2", None))
    assert [s.name for s in t.roots()] == ["r2", "a"]
    t.add(SnapshotObj("b", "new", parent="a"))               # a redefinition keeps its place
    assert [s.name for s in t.children("a")] == ["d", "b"]
    assert t.get("b").definition == "new" and [s.name for s in t.children("b")] == ["c"]


def test_broker_ids_can_be_shared():
    import itertools
    ids = itertools.count()
    first, second = EventBroker(ids), EventBroker(ids)
    assert [first.register(0, None, print, "c"), second.register(0, None, print, "c"),
            first.register(0, None, print, "c")] == [0, 1, 2]


def test_remove_children():
    t = tree()
    assert sorted(t.remove_children("a")) == ["b", "c", "d"]
    assert len(t) == 1 and t.current == "a"


class Ref:
    def __init__(self, uuid):
        self.uuid = uuid


def test_broker_delivers_in_order_to_matching_subscribers():
    broker = EventBroker()
    got_all, got_one, got_other = [], [], []
    broker.register(0, None, lambda *a: got_all.append(a), owner="c1")
    broker.register(0, b"x", lambda *a: got_one.append(a), owner="c1")
    broker.register(1, None, lambda *a: got_other.append(a), owner="c2")
    x, y = Ref(b"x"), Ref(b"y")
    broker.queue(0, x, 2, 0)
    broker.queue(0, y, 5, 1)
    broker.flush()
    assert got_all == [(0, x, 2, 0), (0, y, 5, 1)]
    assert got_one == [(0, x, 2, 0)]
    assert got_other == []


def test_broker_deregister_and_owner_cleanup():
    broker = EventBroker()
    got = []
    cid = broker.register(0, None, lambda *a: got.append(a), owner="c1")
    assert not broker.deregister(cid, owner="c2")
    assert broker.deregister(cid, owner="c1")
    broker.register(0, None, lambda *a: got.append(a), owner="c1")
    broker.deregister_owner("c1")
    broker.queue(0, Ref(b"x"))
    broker.flush()
    assert got == []


def test_broken_callback_does_not_stop_delivery():
    broker = EventBroker()
    got = []
    broker.register(0, None, lambda *a: 1 / 0, owner=None)
    broker.register(0, None, lambda *a: got.append(a), owner=None)
    broker.queue(0, Ref(b"x"))
    broker.flush()
    assert len(got) == 1


def test_sink_may_queue_and_flush_again_without_deadlock():
    broker = EventBroker()
    got = []

    def sink(event_id, ref, *payload):
        got.append(payload)
        if payload == (1,):
            broker.queue(0, ref, 2)
            broker.flush()

    broker.register(0, None, sink, owner=None)
    broker.queue(0, Ref(b"x"), 1)
    broker.flush()
    assert got == [(1,), (2,)]


def test_events_go_to_the_callbacks_registered_when_they_happen():
    broker = EventBroker()
    seen = []
    broker.queue(0, "before")                   # nobody listens: dropped
    callback_id = broker.register(0, None, lambda ev, ref: seen.append(ref), "owner")
    broker.queue(0, "during")
    broker.flush()
    broker.deregister(callback_id)
    broker.queue(0, "after")
    broker.flush()
    assert seen == ["during"]
