"""The protocol description: numbers, layouts and rules as remote_protocol.x has them."""

from __future__ import annotations

import struct

import pytest

from pyvirt.drivers.base import DomainRef, SnapshotRef, StorageVolRef
from pyvirt.remote import schema
from pyvirt.remote.protocol import FEATURES, TABLE

UUID = bytes(range(16))


def proc(name):
    return next(p for p in TABLE.procedures.values() if p.name == name)


@pytest.mark.parametrize("number, name", [
    (1, "CONNECT_OPEN"), (2, "CONNECT_CLOSE"), (3, "CONNECT_GET_TYPE"), (4, "CONNECT_GET_VERSION"),
    (6, "NODE_GET_INFO"), (7, "CONNECT_GET_CAPABILITIES"), (9, "DOMAIN_CREATE"),
    (11, "DOMAIN_DEFINE_XML"), (12, "DOMAIN_DESTROY"), (14, "DOMAIN_GET_XML_DESC"),
    (15, "DOMAIN_GET_AUTOSTART"), (16, "DOMAIN_GET_INFO"), (19, "DOMAIN_GET_OS_TYPE"),
    (23, "DOMAIN_LOOKUP_BY_NAME"), (24, "DOMAIN_LOOKUP_BY_UUID"),
    (44, "NETWORK_GET_AUTOSTART"), (60, "CONNECT_SUPPORTS_FEATURE"), (66, "AUTH_LIST"),
    (84, "STORAGE_POOL_LOOKUP_BY_NAME"), (86, "STORAGE_POOL_LOOKUP_BY_VOLUME"),
    (87, "STORAGE_POOL_GET_INFO"), (89, "STORAGE_POOL_GET_AUTOSTART"),
    (95, "STORAGE_VOL_LOOKUP_BY_NAME"), (100, "STORAGE_VOL_GET_PATH"),
    (122, "NODE_GET_SECURITY_MODEL"), (151, "DOMAIN_IS_PERSISTENT"), (152, "NETWORK_IS_ACTIVE"),
    (153, "NETWORK_IS_PERSISTENT"), (154, "STORAGE_POOL_IS_ACTIVE"),
    (183, "DOMAIN_HAS_MANAGED_SAVE_IMAGE"), (208, "STORAGE_VOL_UPLOAD"),
    (209, "STORAGE_VOL_DOWNLOAD"), (212, "DOMAIN_GET_STATE"), (273, "CONNECT_LIST_ALL_DOMAINS"),
    (281, "CONNECT_LIST_ALL_STORAGE_POOLS"), (282, "STORAGE_POOL_LIST_ALL_VOLUMES"),
    (283, "CONNECT_LIST_ALL_NETWORKS"), (316, "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY"),
    (317, "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY"), (344, "CONNECT_GET_ALL_DOMAIN_STATS"),
    (350, "DOMAIN_DEFINE_XML_FLAGS"), (360, "CONNECT_REGISTER_CLOSE_CALLBACK"),
    (361, "CONNECT_UNREGISTER_CLOSE_CALLBACK"),
])
def test_procedure_numbers(number, name):
    assert TABLE.procedures[number].name == name


def test_event_numbers():
    assert TABLE.events[318].name == "DOMAIN_EVENT_CALLBACK_LIFECYCLE"
    assert TABLE.event_for("domain", 0).number == 318
    assert TABLE.event_for("network", 0).number == 315
    assert TABLE.event_for("storage_pool", 1).number == 373


def test_nonnull_domain_layout():
    raw = schema.nonnull_domain.encode(DomainRef("ab", UUID, -1))
    assert raw == b"\0\0\0\2ab\0\0" + UUID + b"\xff\xff\xff\xff"
    assert schema.nonnull_domain.decode(raw) == DomainRef("ab", UUID, -1)


def test_snapshot_and_volume_refs():
    snap = SnapshotRef(DomainRef("d", UUID, 3), "s1")
    raw = schema.nonnull_domain_snapshot.encode(snap)
    assert raw.startswith(b"\0\0\0\2s1\0\0\0\0\0\1d\0\0\0")
    assert schema.nonnull_domain_snapshot.decode(raw) == snap
    vol = StorageVolRef("pool", "v", "/k")
    assert schema.nonnull_storage_vol.decode(schema.nonnull_storage_vol.encode(vol)) == vol


def test_node_info_model_is_32_words():
    ret = proc("NODE_GET_INFO").ret
    raw = ret.encode(["i686", 3145728, 16, 1400, 2, 2, 2, 2])
    assert len(raw) == 128 + 8 + 6 * 4
    assert ret.decode(raw)["model"] == "i686"


def test_domain_info_chars_and_shorts_take_words():
    raw = proc("DOMAIN_GET_INFO").ret.encode([1, 2, 3, 4, 5])
    assert raw == struct.pack(">iQQiQ", 1, 2, 3, 4, 5)


def test_open_args_name_is_optional():
    args = proc("CONNECT_OPEN").args
    assert args.encode({"name": None, "flags": 1}) == b"\0\0\0\0\0\0\0\1"
    raw = args.encode({"name": "test:///default", "flags": 0})
    assert raw[:8] == b"\0\0\0\1\0\0\0\x0f"


def test_remote_error_layout():
    raw = schema.remote_error.encode({
        "code": 42, "domain": 12, "message": "m", "level": 2, "dom": None, "str1": None,
        "str2": None, "str3": None, "int1": 0, "int2": 0, "net": None})
    assert raw == struct.pack(">ii", 42, 12) + b"\0\0\0\1\0\0\0\1m\0\0\0" + \
        struct.pack(">i", 2) + b"\0\0\0\0" * 4 + b"\0" * 8 + b"\0\0\0\0"


def test_typed_param_union():
    raw = schema.typed_param.encode({"field": "a", "value": (schema.TYPED_PARAM_ULLONG, 5)})
    assert raw == b"\0\0\0\1a\0\0\0" + struct.pack(">iQ", 4, 5)


def test_mutating_procedures_follow_their_acl():
    assert proc("DOMAIN_CREATE").mutating
    assert proc("DOMAIN_DEFINE_XML").mutating
    assert proc("NETWORK_DESTROY").mutating
    assert not proc("DOMAIN_GET_INFO").mutating
    assert not proc("CONNECT_LIST_ALL_DOMAINS").mutating
    assert not proc("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY").mutating
    assert not proc("AUTH_LIST").mutating
    assert not proc("CONNECT_CLOSE").mutating


def test_api_names():
    assert proc("DOMAIN_LOOKUP_BY_UUID").api == "virDomainLookupByUUID"
    assert proc("DOMAIN_GET_XML_DESC").api == "virDomainGetXMLDesc"
    assert proc("STORAGE_POOL_CREATE").api == "virStoragePoolCreate"


def test_methods_are_snake_case_names():
    assert proc("DOMAIN_CREATE_WITH_FLAGS").method == "domain_create_with_flags"


def test_features_answered():
    assert FEATURES == {9: 1, 10: 1, 14: 1, 15: 1, 16: 1}     # libvirtd 9.0 less fd passing


def test_every_struct_round_trips_zero_values():
    """Each declared args/ret struct encodes and decodes a value of its own shape."""
    for procedure in TABLE.procedures.values():
        for struct_ in (procedure.args, procedure.ret):
            if struct_ is None:
                continue
            raw = b"".join(b"\0\0\0\0" for _ in struct_.fields)
            try:
                value = struct_.decode(raw, exact=False)
            except Exception:
                continue        # fields that are not all-zero friendly (uuid, char[32])
            assert struct_.decode(struct_.encode(value), exact=False) == value


def test_parse_type_notation():
    assert isinstance(schema.parse_type("string?"), type(schema.remote_string))
    array = schema.parse_type("dom<DOMAIN_LIST_MAX>")
    assert array.max == schema.LIMITS["DOMAIN_LIST_MAX"]
    with pytest.raises(ValueError):
        schema.parse_type("no such thing!")


#: Every procedure the notes saw real virsh / python3-libvirt call (libvirt-wire.md).
SEEN_ON_THE_WIRE = [66, 60, 1, 2, 360, 361, 273, 212, 23, 19, 16, 151, 15, 183, 122, 426, 14,
                    11, 350, 9, 24, 12, 283, 44, 153, 152, 281, 89, 87, 154, 84, 282, 100, 95,
                    86, 208, 209, 201, 344, 316, 317, 3, 4, 6, 7, 313, 368]


def test_every_procedure_seen_on_the_wire_is_declared():
    missing = [n for n in SEEN_ON_THE_WIRE if n not in TABLE.procedures]
    assert missing == []
    assert 318 in TABLE.events


def test_declared_procedures_have_unique_names_and_methods():
    names = [p.name for p in TABLE.procedures.values()]
    assert len(names) == len(set(names))
    for procedure in TABLE.procedures.values():
        assert procedure.method == procedure.name.lower()
        assert procedure.acl, procedure.name


def test_transport_errors_are_libvirt_errors(tmp_path):
    from pyvirt.errors import libvirtError
    from pyvirt.remote import transport
    with pytest.raises(libvirtError, match="Failed to connect socket"):
        transport.connect_unix(str(tmp_path / "missing"))
