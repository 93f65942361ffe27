"""Volume encryption on create: libvirt's checks, then its missing-secret answer."""

from __future__ import annotations

import pytest

from pyvirt.conf.storage import StorageVolDef
from pyvirt.errors import (VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR,
                           VIR_ERR_NO_SECRET, VIR_ERR_XML_ERROR, VIR_FROM_SECRET, libvirtError)
from pyvirt.storage.encryption import check_encryption

UUID = "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f"


def vdef(encryption: str, fmt: str = "raw") -> StorageVolDef:
    return StorageVolDef.from_xml(
        f"<volume><name>v</name><capacity>1048576</capacity><target>"
        f"<format type='{fmt}'/>{encryption}</target></volume>")


def refused(encryption: str, fmt: str = "raw") -> libvirtError:
    with pytest.raises(libvirtError) as err:
        check_encryption(vdef(encryption, fmt), fmt)
    return err.value


def test_no_encryption_passes():
    check_encryption(vdef(""), "raw")


def test_luks_with_a_secret_uuid_answers_secret_not_found():
    err = refused(f"<encryption format='luks'><secret type='passphrase' "
                  f"uuid='{UUID.upper()}'/></encryption>")
    assert (err.get_error_code(), err.get_error_domain()) == (VIR_ERR_NO_SECRET,
                                                              VIR_FROM_SECRET)
    assert str(err) == f"Secret not found: no secret with matching uuid '{UUID}'"


def test_luks_on_qcow2_also_needs_the_secret():
    err = refused(f"<encryption format='luks'><secret type='passphrase' uuid='{UUID}'/>"
                  "</encryption>", "qcow2")
    assert err.get_error_code() == VIR_ERR_NO_SECRET


def test_libvirts_checks_come_first():
    assert refused("<encryption format='qcow'/>", "qcow2").get_error_code() == \
        VIR_ERR_CONFIG_UNSUPPORTED
    assert "creation of qcow2 encrypted image is not supported" in str(
        refused("<encryption format='qcow'/>", "qcow2"))
    assert str(refused("<encryption format='qcow'/>")) == (
        "internal error: Only luks encryption is supported for raw files")
    assert refused("<encryption format='qcow'/>").get_error_code() == VIR_ERR_INTERNAL_ERROR
    assert "volume encryption unsupported with format vmdk" in str(
        refused("<encryption format='luks'/>", "vmdk"))
    none = refused("<encryption format='luks'/>")
    assert none.get_error_code() == VIR_ERR_XML_ERROR
    assert "no secret provided for luks encryption" in str(none)
    two = refused(f"<encryption format='luks'><secret type='passphrase' uuid='{UUID}'/>"
                  f"<secret type='passphrase' uuid='{UUID}'/></encryption>")
    assert "too many secrets for luks encryption" in str(two)
