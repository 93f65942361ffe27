"""Who needs IP forwarding in a network namespace, counted across driver states.

Forwarding is one sysctl per namespace, while a process may hold several driver
states (one per pair of dirs). :func:`shares_for` returns the one
:class:`ForwardingShares` of the host's namespace: it switches a family on for
its first user (remembering whether it was off before, i.e. "ours") and off again
when the last user goes, only when it was ours.
"""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.Lock()
_SHARES: dict[str, "ForwardingShares"] = {}


class ForwardingShares:
    def __init__(self, host: Any) -> None:
        self.host = host
        self.users: dict[str, int] = {}
        self.ours: set[str] = set()
        self.lock = threading.Lock()

    def acquire(self, family: str) -> bool:
        """One more forwarding network; True when this switched forwarding on."""
        with self.lock:
            switched = False
            if self.users.get(family, 0) == 0 and self.host.forwarding_enable(family):
                self.ours.add(family)
                switched = True
            self.users[family] = self.users.get(family, 0) + 1
            return switched

    def adopt(self, family: str) -> None:
        """A forwarding network found running (reconcile): counted, nothing switched."""
        with self.lock:
            self.users[family] = self.users.get(family, 0) + 1

    def release(self, family: str) -> bool:
        """One forwarding network fewer; True when this switched forwarding off."""
        with self.lock:
            count = max(self.users.get(family, 0) - 1, 0)
            self.users[family] = count
            if count == 0 and family in self.ours:
                self.host.forwarding_disable(family)
                self.ours.discard(family)
                return True
            return False

    def forget(self, family: str) -> None:
        """A network no longer counted by this process (its state was let go of
        while it keeps running): uncounted, nothing switched."""
        with self.lock:
            self.users[family] = max(self.users.get(family, 0) - 1, 0)

    def release_unused(self, families: set[str]) -> set[str]:
        """Families a previous run switched on that no network needs now: off.
        Returns those switched off."""
        with self.lock:
            done = set()
            for family in families:
                if self.users.get(family, 0) == 0:
                    self.host.forwarding_disable(family)
                    self.ours.discard(family)
                    done.add(family)
                else:
                    self.ours.add(family)
            return done


def shares_for(host: Any) -> ForwardingShares:
    key = host.namespace_id()
    with _LOCK:
        shares = _SHARES.get(key)
        if shares is None or type(shares.host) is not type(host):
            shares = _SHARES[key] = ForwardingShares(host)
        return shares
