"""The QEMU driver (``qemu:///system``, ``qemu:///session``).

Groundwork, one module per concern (none imports the driver):

- ``loop``     one asyncio loop in a daemon thread, the bridge for sync callers
- ``monitor``  QMP: ``AsyncMonitor`` over ``qemu.qmp`` and the sync ``Monitor``
- ``process``  ``QemuProcess``: prepare → spawn paused → connect → cont, with
               guaranteed cleanup; exit seen at once through a pidfd
- ``paths``    ``RunPaths``: a run's directory, monitor socket, log, fds
- ``command``  ``build_argv(domain_def, caps, paths)``: pure, golden-tested
- ``probe``    finding QEMU, capabilities over QMP, the real KVM check (cached)

The driver itself (``driver``, ``lifecycle``, ``hotplug``, ...) builds on these.
Nothing is imported here, so importing one module stays cheap.
"""


def register() -> None:
    """Add the QEMU driver to pyvirt's registry (called by pyvirt.api._registry)."""
    from pyvirt.drivers.qemu.driver import register as register_qemu
    register_qemu()
