"""Loading a stateful driver's persistent domain configs at start-up (QEMU, LXC)."""

from __future__ import annotations

import logging
import uuid as uuidlib
from types import ModuleType
from typing import Any, Callable

from pyvirt.errors import libvirtError
from pyvirt.objects.domain_obj import DomainObj


def load_persistent(drv: Any, state_dir: ModuleType, parse: Callable[[str], Any],
                    what: str, log: logging.Logger) -> list[DomainObj]:
    """Add to ``drv.domains`` a domain for every config file under ``drv.dirs`` (the
    driver's ``state_dir`` module reads them, ``parse`` turns one into a definition),
    marked autostart where its link exists; returns the domains added.

    A config that does not parse is skipped, logged on ``log`` as a ``what`` config.
    """
    added = []
    for stem, xml in state_dir.load_configs(drv.dirs):
        try:
            ddef = parse(xml)
        except libvirtError as err:
            log.error("skipping %s config %s: %s", what, drv.dirs.config_path(stem),
                      err.get_error_message())
            continue
        name = ddef.name.strip()
        added.append(drv.domains.add(DomainObj(
            name=name, uuid=uuidlib.UUID(ddef.uuid).bytes, persistent_def=ddef,
            autostart=state_dir.is_autostart(drv.dirs, name))))
    return added
