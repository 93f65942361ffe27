"""The I/O edge of DAC labelling: apply a plan, restore it, remembering owners.

``rw`` files are chowned to the guest and made ``0600`` (directories ``0700``); ``ro`` files keep their
owner and mode and get a ``user:UID:r--`` ACL entry (falling back to ``o+r``
when the filesystem has no ACLs); ``x`` directories (on the way to the guest's
files) get ``user:UID:--x`` (falling back to ``o+x``). Every change is recorded first in the state
record (see :mod:`pyvirt.security.state`) so a crash in between still lets
:meth:`DacLabeller.restore` put things back.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from typing import Any, Iterable

from pyvirt.errors import VIR_ERR_OPERATION_INVALID, VIR_ERR_SYSTEM_ERROR, VIR_FROM_SECURITY, error
from pyvirt.security import acl, state
from pyvirt.security.dac import RO, RW, SEARCH, FileAction
from pyvirt.security.seclabel import Owner

log = logging.getLogger(__name__)
RW_MODE = 0o600
RW_DIR_MODE = 0o700        # a run directory the guest makes its sockets in


class DacLabeller:
    """Labels files for domains, with the shared record in ``state_dir``."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir

    # --- applying -------------------------------------------------------------
    def label(self, domain_key: str, owner: Owner, actions: Iterable[FileAction]) -> None:
        """Give ``owner`` the plan's files; on error undo what this call did."""
        done: list[str] = []
        try:
            for act in actions:
                if not os.path.exists(act.path):
                    continue            # made later by the driver: label it then
                with state.locked(self.state_dir) as data:
                    self._label_one(data, domain_key, owner, act)
                done.append(act.path)
        except BaseException:
            self._release(domain_key, done)
            raise

    def _label_one(self, data: dict[str, Any], key: str, owner: Owner,
                   act: FileAction) -> None:
        entry = data["files"].get(act.path)
        st = os.stat(act.path)
        if entry is None:
            entry = {"uid": st.st_uid, "gid": st.st_gid, "mode": stat.S_IMODE(st.st_mode),
                     "access": act.access, "users": {}}
        if act.access == RW or entry["access"] == RW:
            others = {k: v for k, v in entry["users"].items() if k != key}
            if others and (entry["access"] != act.access or
                           any(tuple(v) != (owner.uid, owner.gid) for v in others.values())):
                raise error(VIR_ERR_OPERATION_INVALID, f"'{act.path}' is in use by another "
                            "domain with a different identity", domain=VIR_FROM_SECURITY)
        entry["users"][key] = [owner.uid, owner.gid]
        data["files"][act.path] = entry
        state.save(self.state_dir, data)         # recorded before the change
        try:
            if entry["access"] == RW:
                os.chown(act.path, owner.uid, owner.gid)
                os.chmod(act.path, RW_DIR_MODE if stat.S_ISDIR(st.st_mode) else RW_MODE)
            elif entry["access"] == SEARCH:
                self._grant_search(act.path, owner.uid)
            else:
                self._grant_read(act.path, owner.uid)
        except OSError as err:
            raise error(VIR_ERR_SYSTEM_ERROR, f"unable to set user and group to "
                        f"'{owner.uid}:{owner.gid}' on '{act.path}': {err.strerror}",
                        domain=VIR_FROM_SECURITY) from err

    @staticmethod
    def _grant_read(path: str, uid: int) -> None:
        try:
            acl.grant_read(path, uid)
        except OSError as err:
            if err.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            mode = stat.S_IMODE(os.stat(path).st_mode)
            os.chmod(path, mode | stat.S_IROTH)

    @staticmethod
    def _grant_search(path: str, uid: int) -> None:
        try:
            acl.grant_search(path, uid)
        except OSError as err:
            if err.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            mode = stat.S_IMODE(os.stat(path).st_mode)
            os.chmod(path, mode | stat.S_IXOTH)

    # --- restoring --------------------------------------------------------------
    def restore(self, domain_key: str) -> list[str]:
        """Release every file the domain holds; the last user restores the owner and
        mode. Returns the paths put back. Errors are logged: a stop must go on."""
        with state.locked(self.state_dir) as data:
            paths = [p for p, e in data["files"].items() if domain_key in e["users"]]
        return self._release(domain_key, paths)

    def release_paths(self, domain_key: str, paths: Iterable[str]) -> list[str]:
        """Release some of the domain's files (a hot-unplugged disk's) now, not at
        stop; the last user restores the owner and mode. Returns the paths put back."""
        return self._release(domain_key, [os.path.normpath(p) for p in paths])

    def _release(self, key: str, paths: list[str]) -> list[str]:
        restored = []
        for path in paths:
            with state.locked(self.state_dir) as data:
                entry = data["files"].get(path)
                if entry is None or key not in entry["users"]:
                    continue
                uid = entry["users"].pop(key)[0]
                try:
                    if entry["access"] in (RO, SEARCH) and not any(
                            v[0] == uid for v in entry["users"].values()):
                        self._revoke_read(path, uid)
                    if not entry["users"]:
                        os.chown(path, entry["uid"], entry["gid"])
                        os.chmod(path, entry["mode"])
                        restored.append(path)
                except FileNotFoundError:
                    pass
                except OSError as err:
                    log.warning("cannot restore the owner of '%s': %s", path, err)
                if not entry["users"]:
                    del data["files"][path]
        return restored

    @staticmethod
    def _revoke_read(path: str, uid: int) -> None:
        try:
            acl.revoke_read(path, uid)
        except OSError as err:
            if err.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
                raise

    # --- looking -----------------------------------------------------------------
    def users_of(self, path: str) -> dict[str, list[int]]:
        """Domain key -> [uid, gid] of the domains holding ``path``."""
        entry = state.load(self.state_dir)["files"].get(os.path.normpath(path))
        return dict(entry["users"]) if entry else {}
