"""Save images as libvirt's test driver writes them: a magic string (with its NUL),
the XML length as a native 32-bit int, then the domain XML."""

from __future__ import annotations

import os
import struct

from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_ERR_SYSTEM_ERROR, VIR_FROM_TEST, error

SAVE_MAGIC = b"TestGuestMagic\0"


def write_save_image(path: str, xml: str) -> None:
    """Write ``xml`` to ``path`` (mode 0600); OSError is the caller's to report."""
    data = xml.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(SAVE_MAGIC + struct.pack("=i", len(data)) + data)


def read_save_image(path: str) -> str:
    """The domain XML inside a save image written by ``domain_save_flags``."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SAVE_MAGIC) + 4)
            if len(header) < len(SAVE_MAGIC) + 4:
                raise error(VIR_ERR_SYSTEM_ERROR,
                            f"incomplete save header in '{path}': Success", domain=VIR_FROM_TEST)
            if header[:len(SAVE_MAGIC)] != SAVE_MAGIC:
                raise error(VIR_ERR_INTERNAL_ERROR, "mismatched header magic",
                            domain=VIR_FROM_TEST)
            (length,) = struct.unpack("=i", header[len(SAVE_MAGIC):])
            if length < 1 or length > 8 * 1024 * 1024:
                raise error(VIR_ERR_INTERNAL_ERROR, "length of metadata out of range",
                            domain=VIR_FROM_TEST)
            xml = handle.read(length)
            if len(xml) != length:
                raise error(VIR_ERR_SYSTEM_ERROR,
                            f"incomplete metadata in '{path}': Success", domain=VIR_FROM_TEST)
    except OSError as err:
        raise error(VIR_ERR_SYSTEM_ERROR,
                    f"cannot read domain image '{path}': {err.strerror}",
                    domain=VIR_FROM_TEST) from err
    return xml.decode()
