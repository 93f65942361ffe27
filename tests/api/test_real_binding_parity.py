"""Our classes against the real libvirt-python 9.0: names and signatures.

Skipped when the real binding is not importable. For each method we cover,
the parameter names, kinds and defaults must match ``inspect.signature`` on
the real class (annotations are ignored).
"""

from __future__ import annotations

import inspect

import pytest

import pyvirt

libvirt = pytest.importorskip("libvirt", reason="real libvirt-python not installed")

COVERED = {
    "virConnect": """close getType getVersion getLibVersion getHostname getURI getCapabilities
        getInfo getMaxVcpus getFreeMemory getCellsFreeMemory getSecurityModel getSysinfo
        getDomainCapabilities isAlive isSecure isEncrypted setKeepAlive
        lookupByName lookupByUUID lookupByUUIDString lookupByID listAllDomains listDomainsID
        listDefinedDomains numOfDomains numOfDefinedDomains defineXML defineXMLFlags createXML
        createLinux restore restoreFlags domainEventRegisterAny domainEventDeregisterAny
        domainEventRegister domainEventDeregister
        networkEventRegisterAny networkEventDeregisterAny storagePoolEventRegisterAny
        storagePoolEventDeregisterAny getAllDomainStats domainListGetStats networkLookupByName
        networkLookupByUUID networkLookupByUUIDString listAllNetworks listNetworks
        listDefinedNetworks numOfNetworks numOfDefinedNetworks networkDefineXML
        networkDefineXMLFlags networkCreateXML networkCreateXMLFlags storagePoolLookupByName
        storagePoolLookupByUUID storagePoolLookupByUUIDString storagePoolLookupByTargetPath
        listAllStoragePools listStoragePools listDefinedStoragePools numOfStoragePools
        numOfDefinedStoragePools storagePoolDefineXML storagePoolCreateXML
        storageVolLookupByKey storageVolLookupByPath newStream registerCloseCallback
        unregisterCloseCallback virConnGetLastError virConnResetLastError c_pointer""",
    "virDomain": """name UUID UUIDString ID OSType info state XMLDesc isActive isPersistent
        isUpdated autostart setAutostart create createWithFlags shutdown shutdownFlags destroy
        destroyFlags reboot reset suspend resume undefine undefineFlags managedSave
        hasManagedSaveImage managedSaveRemove save saveFlags maxMemory setMemory setMemoryFlags
        setMaxMemory maxVcpus vcpusFlags setVcpus setVcpusFlags attachDevice attachDeviceFlags
        detachDevice detachDeviceFlags updateDeviceFlags snapshotCreateXML listAllSnapshots
        snapshotListNames snapshotNum snapshotLookupByName snapshotCurrent hasCurrentSnapshot
        revertToSnapshot getCPUStats blockStats interfaceStats memoryStats messages connect
        securityLabel openConsole
        c_pointer""",
    "virDomainSnapshot": """getName getXMLDesc getParent getDomain domain getConnect connect
        delete isCurrent hasMetadata listAllChildren listChildrenNames numChildren c_pointer""",
    "virNetwork": """name UUID UUIDString XMLDesc create destroy undefine isActive isPersistent
        autostart setAutostart bridgeName DHCPLeases update connect c_pointer""",
    "virStoragePool": """name UUID UUIDString XMLDesc info build create delete destroy undefine
        refresh isActive isPersistent autostart setAutostart listAllVolumes listVolumes
        numOfVolumes storageVolLookupByName createXML createXMLFrom connect c_pointer""",
    "virStorageVol": """name key path info XMLDesc delete wipe resize upload download
        storagePoolLookupByVolume connect c_pointer""",
    "virStream": """send recv recvFlags finish abort sendAll recvAll connect c_pointer
        eventAddCallback eventUpdateCallback eventRemoveCallback""",
}

FUNCTIONS = """open openReadOnly openAuth getVersion registerErrorHandler
    virEventRegisterDefaultImpl virEventRunDefaultImpl virEventRegisterImpl virEventAddHandle
    virEventUpdateHandle virEventRemoveHandle virEventAddTimeout virEventUpdateTimeout
    virEventRemoveTimeout virGetLastError virGetLastErrorMessage virGetLastErrorCode
    virGetLastErrorDomain virResetLastError virInitialize virEventInvokeFreeCallback""".split()


def _shape(func):
    """Parameter names, kinds and defaults: what a caller can rely on."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(func).parameters.values()]


CASES = [(cls, meth) for cls, names in COVERED.items() for meth in names.split()]


@pytest.mark.parametrize(("cls", "meth"), CASES, ids=[f"{c}.{m}" for c, m in CASES])
def test_method_signature_matches_real_binding(cls, meth):
    real = getattr(getattr(libvirt, cls), meth)
    ours = getattr(getattr(pyvirt, cls), meth)
    assert _shape(ours) == _shape(real)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_signature_matches_real_binding(name):
    assert _shape(getattr(pyvirt, name)) == _shape(getattr(libvirt, name))


@pytest.mark.parametrize("cls", sorted(COVERED))
def test_constructor_matches_real_binding(cls):
    assert _shape(getattr(pyvirt, cls).__init__) == _shape(getattr(libvirt, cls).__init__)


def test_libvirt_error_is_exported():
    assert issubclass(pyvirt.libvirtError, Exception)
    err = pyvirt.libvirtError("boom")
    assert err.get_error_message() == "boom"


def _our_methods(cls):
    """Public methods defined by our class or its pyvirt mixins."""
    found = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("pyvirt."):
            found.update({name: member for name, member in vars(klass).items()
                          if not name.startswith("_") and callable(member)})
    return found


@pytest.mark.parametrize("cls", sorted(COVERED))
def test_every_public_method_of_ours_exists_in_the_real_binding(cls):
    ours = _our_methods(getattr(pyvirt, cls))
    real = getattr(libvirt, cls)
    assert [name for name in ours if not hasattr(real, name)] == []
    assert [name for name, member in ours.items()
            if _shape(member) != _shape(getattr(real, name))] == []


def test_mixins_are_found():
    assert "lookupByName" in _our_methods(pyvirt.virConnect)
