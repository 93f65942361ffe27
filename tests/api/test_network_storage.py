"""virNetwork, virStoragePool, virStorageVol over the fake driver."""

from __future__ import annotations

import pyvirt


def test_network_handle(conn):
    net = conn.networkLookupByName("default")
    assert net.name() == "default" and net.isActive() == 1
    assert net.bridgeName() == "virbr0"
    assert net.UUIDString() == "00000000-0000-0000-0000-000000000001"
    assert net.DHCPLeases() == [{"mac": "52:54:00:00:00:01", "ipaddr": "192.168.122.2"}]
    assert [n.name() for n in conn.listAllNetworks()] == ["default"]
    assert conn.listNetworks() == ["default"]
    assert net.destroy() == 0


def test_pool_and_volume_handles(conn):
    pool = conn.storagePoolLookupByName("default-pool")
    assert pool.info() == [2, 107374182400, 0, 107374182400]
    assert pool.listVolumes() == ["disk.img"]
    vol = pool.storageVolLookupByName("disk.img")
    assert (vol.name(), vol.key(), vol.path()) == ("disk.img", "/default-pool/disk.img",
                                                   "/default-pool/disk.img")
    assert vol.info() == [0, 1000, 1000]
    assert vol.storagePoolLookupByVolume().name() == "default-pool"
    assert conn.listStoragePools() == ["default-pool"]


def test_pool_no_support_uses_storage_domain(conn):
    pool = conn.storagePoolLookupByName("default-pool")
    try:
        pool.refresh()
    except pyvirt.libvirtError as err:
        assert err.get_error_domain() == pyvirt.VIR_FROM_STORAGE
        assert str(err).endswith(": virStoragePoolRefresh")
    else:
        raise AssertionError("refresh should be unsupported by the fake driver")
