"""pyvirtd: the daemon serving libvirt's remote protocol."""
