"""The LXC driver (``lxc:///``, ``lxc:///embed?root=DIR``): Linux containers
behind the same hypervisor interface as QEMU guests.

One module per concern:

- ``definition``  container XML rules, libvirt's LXC defaults, capabilities (no I/O)
- ``spec``        ContainerSpec: what the controller needs, from a definition (no I/O)
- ``container``   the controller process: namespaces, mounts, /dev, pivot_root, init,
                  console pty relay (its own process, started without the rest of pyvirt)
- ``syscalls``    unshare/mount/pivot_root/... through libc
- ``launcher``    the driver's side: spawn, handshake, id maps, kill, cleanup
- ``cgroup``      v1 and v2: limits, freezer, stats
- ``network``     veth pairs into the container's network namespace
- ``console``     virDomainOpenConsole over the controller's console socket
- ``state_dir``   config/status files (atomic writes)
- ``state``       LxcDriverState: domains, reattach, autostart, exit handling
- ``lifecycle``   start/shutdown/destroy/reboot/suspend/resume
- ``stats``       info, memory, interface and GetAllDomainStats numbers
- ``driver``      the HypervisorConnection table and ``register()``
"""


def register() -> None:
    """Add the LXC driver to pyvirt's registry (imports the driver lazily)."""
    from pyvirt.drivers.lxc.driver import register as _register

    _register()
