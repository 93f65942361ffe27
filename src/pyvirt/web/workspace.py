"""What a page works on: the hosts (connections), their event registrations and
stats pollers. Users-file mode has one shared workspace; daemon mode one per login,
holding connections opened with that user's credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection

from .auth import NotLoggedIn
from .events import EventHub
from .hosts import HostList


@dataclass(eq=False)
class Workspace:
    """Connections to the configured hosts, and what watches them."""

    hosts: HostList
    hub: EventHub = field(default_factory=EventHub)
    pollers: dict[int, Any] = field(default_factory=dict)     # host index -> StatsPoller

    def close(self) -> None:
        """Stop the pollers, drop the event registrations, close the connections."""
        for poller in list(self.pollers.values()):
            poller.stop()
        self.pollers.clear()
        self.hub.unwatch_all()
        self.hosts.close_all()


def workspace_of(conn: HTTPConnection) -> Workspace:
    """The workspace of this request's session (daemon mode) or the shared one."""
    logins = conn.app.state.logins
    if logins is None:
        return conn.app.state.workspace
    found = logins.workspace_of(conn.session)
    if found is None:
        raise NotLoggedIn()
    return found
