"""Access rules: parsing, matching identities, permissions and objects."""

from __future__ import annotations

import pytest

from pyvirt.drivers.base import DomainRef
from pyvirt.errors import VIR_ERR_ACCESS_DENIED, VIR_ERR_CONF_SYNTAX, VIR_FROM_ACCESS, libvirtError
from pyvirt.remote.access import EVENT_FILTER, Identity, may_see_event, object_name, parse_rules

RULES = """
# verdict identity permission object
allow uid:0            *
allow user:nobody      domain:read      web-*
allow dn:*CN=ops*      domain:*
deny  addr:10.0.0.*    *
allow addr:10.*        connect:getattr
"""


@pytest.fixture
def rules():
    return parse_rules(RULES, "test.rules")


def test_first_match_wins_and_nothing_matched_is_denied(rules):
    root, nobody = Identity(uid=0, gid=0), Identity(uid=65534, gid=65534)
    assert rules.allowed(root, "domain:stop", "db")
    assert rules.allowed(nobody, "domain:read", "web-1")
    assert not rules.allowed(nobody, "domain:read", "db")
    assert not rules.allowed(nobody, "domain:stop", "web-1")
    assert not rules.allowed(nobody, "domain:read", None)      # object unknown


def test_tls_dn_and_address_identities(rules):
    ops = Identity(dn="C=GB,O=Example,CN=ops-laptop", addr="192.168.1.5")
    assert rules.allowed(ops, "domain:start", "anything")
    assert not rules.allowed(ops, "network:read", "default")
    assert not rules.allowed(Identity(addr="10.0.0.7"), "connect:getattr", None)
    assert rules.allowed(Identity(addr="10.1.0.7"), "connect:getattr", None)


def test_a_denial_is_libvirts_sanitized_access_error(rules):
    with pytest.raises(libvirtError) as err:
        rules.check(Identity(uid=1000), ("domain:write", "domain:save"), "vm", "QEMU")
    assert err.value.get_error_code() == VIR_ERR_ACCESS_DENIED
    assert err.value.get_error_domain() == VIR_FROM_ACCESS
    assert str(err.value) == "access denied: 'QEMU' denied access"
    assert "uid=1000" in err.value.why and "domain:write" in err.value.why


@pytest.mark.parametrize("line", ["permit uid:0 *", "allow uid:0", "allow someone:0 *",
                                  "allow uid:0 * * extra"])
def test_bad_lines_are_errors(line):
    with pytest.raises(libvirtError) as err:
        parse_rules(line, "bad.rules")
    assert err.value.get_error_code() == VIR_ERR_CONF_SYNTAX
    assert "bad.rules:1" in str(err.value)


def test_object_names_come_from_refs_names_xml_or_the_answer():
    ref = DomainRef("vm", bytes(16), 1)
    assert object_name({"dom": ref, "flags": 0}) == "vm"
    assert object_name({"name": "other"}) == "other"
    assert object_name({"xml": "<domain><name> new </name></domain>", "flags": 0}) == "new"
    assert object_name({"uuid": bytes(16)}) is None
    assert object_name({}, ref) == "vm"


def test_group_identity_uses_supplementary_groups():
    rules = parse_rules("allow gid:27 domain:read\n")
    assert rules.allowed(Identity(uid=1000, gid=1000, groups={1000, 27}), "domain:read", "x")
    assert not rules.allowed(Identity(uid=1000, gid=1000, groups={1000}), "domain:read", "x")


def test_events_are_filtered_by_getattr_on_their_object():
    rules = parse_rules("deny addr:10.* domain:getattr secret\n"
                        "deny addr:10.* network:getattr\n"
                        "allow * *\n")
    remote, local = Identity(addr="10.0.0.2"), Identity(uid=0)
    assert not may_see_event(rules, remote, "domain", "secret")
    assert may_see_event(rules, remote, "domain", "public")
    assert not may_see_event(rules, remote, "network", "default")
    assert may_see_event(rules, remote, "storage_pool", "default")
    assert may_see_event(rules, local, "domain", "secret")
    assert may_see_event(None, remote, "domain", "secret")      # no rules: every event
    assert EVENT_FILTER == {"domain": "domain:getattr", "network": "network:getattr",
                            "storage_pool": "storage_pool:getattr"}
