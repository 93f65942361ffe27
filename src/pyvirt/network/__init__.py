"""Host side of virtual networks: bridges and taps over netlink (``bridge``, ``tap``),
dnsmasq per network (``dnsmasq``), nftables rules in our own table (``firewall``)
and the IP forwarding sysctls (``forwarding``). Used by ``pyvirt.drivers.network``;
nothing here knows about connections or refs.
"""
