"""Volume encryption on create (``<encryption format='luks'>``), libvirt's checks.

libvirt makes a LUKS volume with ``qemu-img create -f luks --object
secret,id=NAME_encrypt0,file=PATH`` after fetching the passphrase from the
secret driver. pyvirt has no secret driver, so no passphrase can ever be
found: after libvirt's own checks of the element (same order, codes and
messages as ``virStorageBackendCreateQemuImgCmdFromVol``), creation stops
with libvirt's answer for a secret that is not there, ``VIR_ERR_NO_SECRET``
("Secret not found: no secret with matching uuid '…'"). Nothing is created.
Pure: reads the volume definition only.
"""

from __future__ import annotations

from typing import Any

from pyvirt.errors import (VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR,
                           VIR_ERR_INVALID_ARG, VIR_ERR_NO_SECRET, VIR_ERR_XML_ERROR,
                           VIR_FROM_SECRET, VIR_FROM_STORAGE, error, libvirtError)

#: virStorageEncryptionFormat numbers (libvirt prints the number in one message)
FORMAT_NUMBERS = {"default": 0, "qcow": 1, "luks": 2, "luks2": 3, "luks-any": 4}


def encryption_of(vdef: Any) -> Any | None:
    """The volume's ``<target><encryption>`` element, or None."""
    return vdef.node.find("target/encryption")


def check_encryption(vdef: Any, target_format: str) -> None:
    """Refuse what libvirt refuses for an encrypted volume of ``target_format``
    (``raw`` for block volumes), then answer that its secret cannot be found."""
    enc = encryption_of(vdef)
    if enc is None:
        return
    fmt = enc.get("format") or "default"
    if fmt in ("default", "qcow") and target_format in ("qcow", "qcow2"):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    "creation of qcow2 encrypted image is not supported",
                    domain=VIR_FROM_STORAGE)
    if target_format == "raw" and fmt != "luks":
        raise error(VIR_ERR_INTERNAL_ERROR, "Only luks encryption is supported for raw files",
                    domain=VIR_FROM_STORAGE)
    if target_format not in ("raw", "qcow2"):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    f"volume encryption unsupported with format {target_format}",
                    domain=VIR_FROM_STORAGE)
    if fmt != "luks":
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, "unsupported volume encryption format "
                    f"{FORMAT_NUMBERS.get(fmt, -1)}", domain=VIR_FROM_STORAGE)
    secrets = enc.findall("secret")
    if len(secrets) > 1:
        raise error(VIR_ERR_XML_ERROR, "too many secrets for luks encryption",
                    domain=VIR_FROM_STORAGE)
    if not secrets:
        raise error(VIR_ERR_XML_ERROR, "no secret provided for luks encryption",
                    domain=VIR_FROM_STORAGE)
    raise missing_secret(secrets[0])


def missing_secret(secret: Any) -> libvirtError:
    """What looking the passphrase up answers without a secret driver."""
    uuid, usage = secret.get("uuid"), secret.get("usage")
    if uuid:
        return error(VIR_ERR_NO_SECRET, f"no secret with matching uuid '{uuid.lower()}'",
                     domain=VIR_FROM_SECRET)
    if usage:
        return error(VIR_ERR_NO_SECRET, f"no secret with matching usage '{usage}'",
                     domain=VIR_FROM_SECRET)
    return error(VIR_ERR_INVALID_ARG, "A single <secret type='passphrase'...> element is "
                 "expected in encryption description", domain=VIR_FROM_STORAGE)
