"""Applying and restoring DAC labels, with the shared state record (needs root)."""

import json
import os
import stat

import pytest

from pyvirt.errors import VIR_ERR_OPERATION_INVALID, libvirtError
from pyvirt.security import acl, state
from pyvirt.security.dac import RO, RW, FileAction
from pyvirt.security.labeller import DacLabeller
from pyvirt.security.seclabel import Owner

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
A, B = Owner(61001, 61001), Owner(61002, 61002)


def owner_mode(path):
    st = os.stat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


@pytest.fixture
def files(tmp_path):
    out = {}
    for name in ("a.img", "b.img", "base.img"):
        path = tmp_path / name
        path.write_text(name)
        os.chmod(path, 0o644)
        out[name] = str(path)
    return out


def test_label_then_restore(tmp_path, files):
    lab = DacLabeller(str(tmp_path / "state"))
    lab.label("dom-a", A, [FileAction(files["a.img"], RW, "disk"),
                           FileAction(str(tmp_path / "later.sock"), RW, "monitor")])
    assert owner_mode(files["a.img"]) == (A.uid, A.gid, 0o600)
    record = json.loads((tmp_path / "state" / state.STATE_FILE).read_text())
    assert record["files"][files["a.img"]] == {
        "uid": 0, "gid": 0, "mode": 0o644, "access": "rw", "users": {"dom-a": [A.uid, A.gid]}}
    assert lab.restore("dom-a") == [files["a.img"]]
    assert owner_mode(files["a.img"]) == (0, 0, 0o644)
    assert state.load(str(tmp_path / "state")) == {"files": {}}


def test_shared_backing_file_refcounted(tmp_path, files):
    os.chmod(files["base.img"], 0o600)
    lab = DacLabeller(str(tmp_path / "state"))
    lab.label("dom-a", A, [FileAction(files["base.img"], RO, "backing")])
    lab.label("dom-b", B, [FileAction(files["base.img"], RO, "backing")])
    assert owner_mode(files["base.img"])[:2] == (0, 0)
    assert not owner_mode(files["base.img"])[2] & 0o222 & ~0o200   # only root may write
    entries = acl.read(files["base.img"])
    assert {(acl.USER, acl.READ, A.uid), (acl.USER, acl.READ, B.uid)} <= set(entries)
    assert set(lab.users_of(files["base.img"])) == {"dom-a", "dom-b"}
    assert lab.restore("dom-a") == []                       # B still uses it
    entries = acl.read(files["base.img"])
    assert (acl.USER, acl.READ, A.uid) not in entries and (acl.USER, acl.READ, B.uid) in entries
    assert lab.restore("dom-b") == [files["base.img"]]
    assert owner_mode(files["base.img"]) == (0, 0, 0o600)
    assert not any(t == acl.USER for t, _, _ in acl.read(files["base.img"]))


def test_rw_file_of_another_identity_refused_and_rolled_back(tmp_path, files):
    lab = DacLabeller(str(tmp_path / "state"))
    lab.label("dom-a", A, [FileAction(files["a.img"], RW, "disk")])
    with pytest.raises(libvirtError) as info:
        lab.label("dom-b", B, [FileAction(files["b.img"], RW, "disk"),
                               FileAction(files["a.img"], RW, "disk")])
    assert info.value.get_error_code() == VIR_ERR_OPERATION_INVALID
    assert owner_mode(files["b.img"]) == (0, 0, 0o644)       # rolled back
    assert owner_mode(files["a.img"])[:2] == (A.uid, A.gid)  # A untouched
    with pytest.raises(libvirtError):                        # ro use of A's rw disk too
        lab.label("dom-b", B, [FileAction(files["a.img"], RO, "disk")])
    lab.restore("dom-a")
    assert owner_mode(files["a.img"]) == (0, 0, 0o644)


def test_shareable_rw_disk_same_identity(tmp_path, files):
    lab = DacLabeller(str(tmp_path / "state"))
    lab.label("dom-a", A, [FileAction(files["a.img"], RW, "disk")])
    lab.label("dom-a2", A, [FileAction(files["a.img"], RW, "disk")])
    lab.restore("dom-a")
    assert owner_mode(files["a.img"])[:2] == (A.uid, A.gid)
    lab.restore("dom-a2")
    assert owner_mode(files["a.img"]) == (0, 0, 0o644)


def test_restore_survives_a_vanished_file(tmp_path, files):
    lab = DacLabeller(str(tmp_path / "state"))
    lab.label("dom-a", A, [FileAction(files["a.img"], RW, "disk")])
    os.unlink(files["a.img"])
    assert lab.restore("dom-a") == []
    assert state.load(str(tmp_path / "state")) == {"files": {}}


def test_state_record_survives_garbage(tmp_path):
    (tmp_path / state.STATE_FILE).write_text("[1, 2]")
    assert state.load(str(tmp_path)) == state.empty()
    state.save(str(tmp_path), {"files": {"/x": {}}})
    assert state.load(str(tmp_path)) == {"files": {"/x": {}}}
    assert [p.name for p in tmp_path.iterdir()] == [state.STATE_FILE]


def test_run_directory_gets_0700(tmp_path):
    run = tmp_path / "run"
    run.mkdir(mode=0o755)
    lab = DacLabeller(str(tmp_path / "state"))
    lab.label("dom-a", A, [FileAction(str(run), RW, "run dir")])
    assert owner_mode(str(run)) == (A.uid, A.gid, 0o700)
    lab.restore("dom-a")
    assert owner_mode(str(run)) == (0, 0, 0o755)
