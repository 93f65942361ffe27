"""pyvirt-web: a browser manager for virtual machines.

It uses only the public ``pyvirt`` API, so it manages any URI the library
opens (``test:///default``, ``qemu:///...``, a remote daemon alike).
See docs/web.md.
"""
