"""Every number in pyvirt.objects.numbers is libvirt's (checked against the
real binding when installed, else against pyvirt.constants)."""

import pytest

from pyvirt.objects import numbers as n


def _reference():
    try:
        import libvirt
        if "pyvirt" not in getattr(libvirt, "__file__", ""):
            return libvirt
    except ImportError:
        pass
    import pyvirt.constants
    return pyvirt.constants


PREFIXES = [
    ("LIST_DOMAINS_", "VIR_CONNECT_LIST_DOMAINS_"), ("LIST_", "VIR_CONNECT_LIST_NETWORKS_"),
    ("GET_ALL_STATS_", "VIR_CONNECT_GET_ALL_DOMAINS_STATS_"),
    ("NETWORK_EVENT_ID_", "VIR_NETWORK_EVENT_ID_"),
    ("NETWORK_UPDATE_", "VIR_NETWORK_UPDATE_"),
    ("STORAGE_POOL_EVENT_ID_", "VIR_STORAGE_POOL_EVENT_ID_"),
    ("NET_EVENT_", "VIR_NETWORK_EVENT_"), ("POOL_EVENT_", "VIR_STORAGE_POOL_EVENT_"),
    ("EVENT_ID_", "VIR_DOMAIN_EVENT_ID_"),
    ("DEFINED_", "VIR_DOMAIN_EVENT_DEFINED_"), ("UNDEFINED_", "VIR_DOMAIN_EVENT_UNDEFINED_"),
    ("STARTED_", "VIR_DOMAIN_EVENT_STARTED_"), ("SUSPENDED_", "VIR_DOMAIN_EVENT_SUSPENDED_"),
    ("RESUMED_", "VIR_DOMAIN_EVENT_RESUMED_"), ("STOPPED_", "VIR_DOMAIN_EVENT_STOPPED_"),
    ("SHUTDOWN_", "VIR_DOMAIN_EVENT_SHUTDOWN_"),
    ("", "VIR_DOMAIN_"),
]


def _plain_numbers():
    for name, value in vars(n).items():
        if name.isupper() and isinstance(value, int):
            for ours, theirs in PREFIXES:
                if name.startswith(ours):
                    yield name, theirs + name[len(ours):], value
                    break


def test_plain_numbers_are_libvirts():
    ref = _reference()
    checked = 0
    for name, libvirt_name, value in _plain_numbers():
        assert getattr(ref, libvirt_name) == value, (name, libvirt_name)
        checked += 1
    assert checked > 80


@pytest.mark.parametrize("enum, prefix", [
    (n.DomainState, "VIR_DOMAIN_"), (n.RunningReason, "VIR_DOMAIN_RUNNING_"),
    (n.PausedReason, "VIR_DOMAIN_PAUSED_"), (n.ShutoffReason, "VIR_DOMAIN_SHUTOFF_"),
    (n.DomainEvent, "VIR_DOMAIN_EVENT_"),
])
def test_enums_are_libvirts(enum, prefix):
    ref = _reference()
    for member in enum:
        assert getattr(ref, prefix + member.name) == member.value, member
