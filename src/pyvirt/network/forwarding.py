"""IP forwarding sysctls of the current network namespace.

Forwarding is switched on when a forwarding (NAT or routed) network starts;
the driver remembers whether it was the one that switched it on and switches it
back off once no forwarding network runs, so the host ends as it began.
"""

from __future__ import annotations

from pathlib import Path

from pyvirt.errors import VIR_ERR_SYSTEM_ERROR, VIR_FROM_NETWORK, error

IPV4 = Path("/proc/sys/net/ipv4/ip_forward")
IPV6 = Path("/proc/sys/net/ipv6/conf/all/forwarding")


def is_enabled(path: Path) -> bool:
    try:
        return path.read_text().strip() == "1"
    except OSError:
        return False


def set_enabled(path: Path, enabled: bool) -> None:
    try:
        path.write_text("1\n" if enabled else "0\n")
    except OSError as err:
        raise error(VIR_ERR_SYSTEM_ERROR, f"cannot enable {path}: {err.strerror}",
                    domain=VIR_FROM_NETWORK) from err


def enable(path: Path) -> bool:
    """Switch forwarding on; True when it was off before (so it is ours to undo)."""
    if is_enabled(path):
        return False
    set_enabled(path, True)
    return True
