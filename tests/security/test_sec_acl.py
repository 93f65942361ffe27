"""POSIX ACL xattr encoding and read-only grants."""

import os
import stat

import pytest

from pyvirt.security import acl


def test_encode_decode_roundtrip_sorted():
    none = acl.UNDEFINED_ID
    entries = [(acl.OTHER, 0, none), (acl.USER, 4, 2000), (acl.USER_OBJ, 6, none),
               (acl.USER, 4, 1000), (acl.GROUP_OBJ, 0, none), (acl.MASK, 4, none)]
    data = acl.encode(entries)
    assert data[:4] == b"\x02\x00\x00\x00" and len(data) == 4 + 8 * 6
    assert acl.decode(data) == sorted(
        entries, key=lambda e: (e[0], e[2] if e[0] == acl.USER else 0))
    assert acl.decode(b"\x01\x00") == []


def test_with_and_without_reader():
    base = acl.from_mode(0o600)
    granted = acl.with_reader(base, 1234)
    assert (acl.USER, acl.READ, 1234) in granted
    assert (acl.MASK, acl.READ, acl.UNDEFINED_ID) in granted
    assert acl.with_reader(granted, 1234).count((acl.USER, acl.READ, 1234)) == 1
    assert acl.without_reader(granted, 1234) == base


def test_grant_and_revoke_on_a_file(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    os.chmod(path, 0o600)
    try:
        acl.grant_read(str(path), 4321)
    except OSError as err:
        pytest.skip(f"no ACLs on this filesystem: {err}")
    assert (acl.USER, acl.READ, 4321) in acl.read(str(path))
    acl.revoke_read(str(path), 4321)
    assert not any(t == acl.USER for t, _, _ in acl.read(str(path)))
    assert not stat.S_IMODE(os.stat(path).st_mode) & 0o007
