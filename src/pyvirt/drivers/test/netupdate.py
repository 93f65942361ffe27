"""virNetworkUpdate for the test driver: libvirt's shared section editor.

The editor lives in :mod:`pyvirt.conf.network_update` (no I/O, used by every
network driver); this name stays for existing importers.
"""

from pyvirt.conf.network_update import (  # noqa: F401 - re-exported
    ADD_FIRST, ADD_LAST, DELETE, MODIFY, SECTION_NAMES, update_network,
)

__all__ = ["ADD_FIRST", "ADD_LAST", "DELETE", "MODIFY", "SECTION_NAMES", "update_network"]
