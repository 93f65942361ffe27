"""libvirt-agnostic RPC pieces: XDR codec and message framing (no I/O)."""
