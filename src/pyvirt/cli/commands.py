"""Registers every command family, in the order virsh's help lists groups."""

from pyvirt.cli.command import group

group("domain", "Domain Management")
group("monitor", "Domain Monitoring")
group("events", "Domain Events")
group("host", "Host and Hypervisor")
group("network", "Networking")
group("snapshot", "Snapshot")
group("pool", "Storage Pool")
group("volume", "Storage Volume")
group("virsh", "Virsh itself")

from pyvirt.cli import (  # noqa: E402,F401 - imported for their registrations
    builtin, console, devstats, domain, edit, event, host, monitor, network, pool, snapshot,
    tuning, volume)
from pyvirt.cli import volxfer  # noqa: E402,F401 - vol-upload, vol-download
from pyvirt.cli import objedit  # noqa: E402,F401 - net-edit, pool-edit
from pyvirt.cli import ifattach  # noqa: E402,F401 - attach-interface, detach-interface
from pyvirt.cli import objevent  # noqa: E402,F401 - net-event, pool-event
from pyvirt.cli import netif  # noqa: E402,F401 - domif-getlink/-setlink, domifaddr, net-dhcp-leases
