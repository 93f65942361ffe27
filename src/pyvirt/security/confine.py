"""One call to confine a domain before start, one to undo it after stop.

For the hypervisor drivers: :func:`prepare` plans and applies the DAC labels
of the domain's files, creates its cgroup with the domain's tuning, writes the
label in use into the live XML and returns a :class:`DomainConfinement` whose
``preexec`` goes to ``Popen(preexec_fn=…)`` and whose ``qemu_args`` go on
QEMU's command line. :func:`release` needs only names (it works after a
daemon restart): it restores every label the domain holds and removes its
cgroup. Any failure in :func:`prepare` undoes what it did first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Iterable

from pyvirt.cgroups import DomainCgroup, domain_group_name, tuning_of
from pyvirt.errors import libvirtError
from pyvirt.security import namespace
from pyvirt.security.dac import SEARCH, FileAction, check_identity, merge_actions, plan_domain
from pyvirt.security.labeller import DacLabeller
from pyvirt.security.process import ChildConfinement, confinement_for, sandbox_args
from pyvirt.security.seclabel import Owner, dac_seclabel, set_live_label
from pyvirt.security.traverse import traversal_actions

log = logging.getLogger(__name__)


@dataclass
class DomainConfinement:
    """What :func:`prepare` set up for one domain."""

    key: str
    owner: Owner | None
    cgroup: DomainCgroup | None
    preexec: ChildConfinement
    qemu_args: list[str] = field(default_factory=sandbox_args)
    labelled: list[str] = field(default_factory=list)


def prepare(domain: Any, *, key: str, name: str, state_dir: str, owner: Owner | None,
            driver: str = "qemu", extra_files: Iterable[FileAction] = (),
            use_cgroup: bool = True, allow_root: bool = False,
            relabel: bool = True, groups: tuple[int, ...] = (),
            dev_staging: str | None = None, kvm: bool | None = None) -> DomainConfinement:
    """Label, create the cgroup, tune it; ``domain`` is the live DomainDef (or
    its element), ``key`` a stable id (the UUID), ``owner`` the driver's
    configured user (used unless the domain has a static label). ``relabel``
    False (qemu.conf's ``dynamic_ownership = 0``) leaves every file as it is.
    Directories on the way to the labelled files get a search-only ACL entry
    for the guest's uid where it needs one (:mod:`pyvirt.security.traverse`).
    ``dev_staging`` (an empty directory's path) asks for a private mount
    namespace and /dev (:mod:`pyvirt.security.namespace`); its nodes are read
    after labelling, so a block disk's node carries the guest's owner."""
    seclabel = dac_seclabel(domain)
    identity = check_identity(seclabel, owner, allow_root=allow_root)
    labeller = DacLabeller(state_dir)
    plan = plan_domain(domain, extra_files) if identity is not None and relabel else []
    if plan:
        plan = merge_actions(plan + traversal_actions([a.path for a in plan], identity))
    group: DomainCgroup | None = None
    try:
        if plan:
            labeller.label(key, identity, plan)
        if use_cgroup:
            group = DomainCgroup(domain_group_name(name, driver, key[:8]))
            group.create()
            group.apply(tuning_of(domain))
    except BaseException:
        release(key=key, name=name, state_dir=state_dir, driver=driver)
        raise
    private = namespace.private_dev(domain, dev_staging, kvm) if dev_staging else None
    if identity is not None:
        set_live_label(domain, identity)
    return DomainConfinement(key=key, owner=identity, cgroup=group,
                             preexec=confinement_for(identity, group,
                                                     groups if identity == owner else (),
                                                     private),
                             labelled=[a.path for a in plan if a.access != SEARCH])


def label_more(domain: Any, *, key: str, state_dir: str, owner: Owner | None,
               extra_files: Iterable[FileAction] = ()) -> list[str]:
    """Label the files of ``domain`` (e.g. a ``<disk>`` being hot-plugged, wrapped
    in a ``<domain><devices>``) for a running domain's ``owner``; they are
    restored with the rest by :func:`release`. Returns the paths labelled."""
    if owner is None:
        return []
    plan = plan_domain(domain, extra_files)
    if plan:
        plan = merge_actions(plan + traversal_actions([a.path for a in plan], owner))
        DacLabeller(state_dir).label(key, owner, plan)
    return [a.path for a in plan]


def unlabel_more(device_domain: Any, remaining: Iterable[Any], *, key: str, state_dir: str,
                 extra_files: Iterable[FileAction] = (),
                 remaining_extra: Iterable[FileAction] = ()) -> list[str]:
    """Give back the files of a device leaving a running domain (a hot-unplugged
    ``<disk>`` wrapped in a ``<domain><devices>``), except those the rest of the
    domain (the definitions ``remaining``, plus ``remaining_extra``) still uses. Directories on
    the way keep their search entry until the domain stops. Returns the paths
    whose owner and mode came back."""
    leaving = {a.path for a in plan_domain(device_domain, extra_files)}
    kept = {a.path for a in remaining_extra}
    for domain in remaining:
        kept.update(a.path for a in plan_domain(domain))
    return DacLabeller(state_dir).release_paths(key, sorted(leaving - kept))


def release(*, key: str, name: str, state_dir: str, driver: str = "qemu") -> None:
    """Restore the domain's labels and remove its cgroup; logs, never raises
    (a stop must go on)."""
    try:
        DacLabeller(state_dir).restore(key)
    except (OSError, libvirtError) as err:
        log.warning("cannot restore the file labels of domain '%s': %s", name, err)
    group = DomainCgroup(domain_group_name(name, driver, key[:8]))
    try:
        if group.exists():
            group.remove()
    except (OSError, libvirtError) as err:
        log.warning("cannot remove the cgroup of domain '%s': %s", name, err)
