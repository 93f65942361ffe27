"""Confining a guest process (QEMU) at exec: its cgroup, its identity, no new privileges.

:func:`sandbox_args` is QEMU's seccomp switch. :class:`ChildConfinement` is run
in the forked child before exec (``subprocess.Popen(preexec_fn=…)``): it joins
the domain's cgroup (still root, so QEMU's first allocation already counts),
enters its own mount namespace with a private ``/dev`` when asked, drops
every supplementary group, takes the guest's gid and uid, and sets
``PR_SET_NO_NEW_PRIVS`` so no setuid binary or file capability can raise it
again. Only async-signal-safe-ish work happens there: a few writes and
syscalls, no locks, no logging. Descriptors: the caller keeps Popen's
``close_fds=True`` and names the ones meant for QEMU in ``pass_fds``.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Callable

from pyvirt.security.seclabel import Owner

PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
#: QEMU's -sandbox with every optional deny libvirt turns on
SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"


def sandbox_args() -> list[str]:
    """``-sandbox on,…`` for QEMU's argv (seccomp)."""
    return ["-sandbox", SANDBOX]


def _prctl(option: int, value: int = 0) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.prctl(option, value, 0, 0, 0)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def set_no_new_privs() -> None:
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def no_new_privs() -> bool:
    return _prctl(PR_GET_NO_NEW_PRIVS) == 1


@dataclass(frozen=True)
class ChildConfinement:
    """What the child takes on before exec: ``cgroup_procs`` files to join (the
    domain cgroup's ``cgroup.procs`` in each hierarchy), an identity (None: stay
    as we are), and no new privileges."""

    owner: Owner | None = None
    cgroup_procs: tuple[str, ...] = ()
    no_new_privs: bool = True
    #: supplementary groups kept (the configured user's, e.g. kvm for /dev/kvm)
    groups: tuple[int, ...] = ()
    #: run as root after joining the cgroup: a private mount namespace
    #: (:class:`pyvirt.security.namespace.PrivateDev`), None for none
    namespace: Callable[[], None] | None = None

    def __call__(self) -> None:
        pid = str(os.getpid()).encode()
        for path in self.cgroup_procs:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        if self.namespace is not None:
            self.namespace()
        if self.owner is not None:
            os.setgroups(list(self.groups))
            os.setresgid(self.owner.gid, self.owner.gid, self.owner.gid)
            os.setresuid(self.owner.uid, self.owner.uid, self.owner.uid)
        if self.no_new_privs:
            set_no_new_privs()


def confinement_for(owner: Owner | None, cgroup=None, groups: tuple[int, ...] = (),
                    namespace: Callable[[], None] | None = None) -> ChildConfinement:
    """The :class:`ChildConfinement` of a domain (``cgroup``: a
    :class:`pyvirt.cgroups.DomainCgroup`, already created; ``groups``: the
    supplementary groups to keep; ``namespace``: the private mount namespace step)."""
    procs = tuple(str(p / "cgroup.procs") for p in cgroup.directories()) if cgroup else ()
    return ChildConfinement(owner=owner, cgroup_procs=procs, groups=tuple(groups),
                            namespace=namespace)
