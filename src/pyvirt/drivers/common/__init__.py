"""Pieces the stateful drivers (QEMU, LXC) share."""
