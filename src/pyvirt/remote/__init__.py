"""libvirt's remote protocol: the procedures we serve and their dispatch."""
