"""Who is making a request, as established by authentication."""

from __future__ import annotations

from dataclasses import dataclass

from scopes import Grants


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: an admin (digest), an API client or a session token (bearer)."""

    scheme: str  # "digest" or "bearer"
    name: str  # user name, the client's registered display name, or jwt:<whoami> of a session
    client: str | None  # client id for bearer callers
    addr: str
    grants: Grants | None = None  # None for admins: they may do everything
    role: str | None = None  # the role of a session token

    @property
    def is_admin(self) -> bool:
        return self.grants is None

    def describe(self) -> str:
        """The holder as the audit log names it: `user2 (testclient@10.0.0.5, bearer)`."""
        if self.role is not None:  # a session: `jwt:alice@example.com (role viewonly, bearer)`
            return f"{self.name} (role {self.role}, {self.scheme})"
        who = self.client if self.client else self.name
        return f"{self.name} ({who}@{self.addr}, {self.scheme})"

    def actor(self) -> str:
        """Who made a change, for state-change audit lines: `client testclient from 10.0.0.5`."""
        if self.client:
            return f"client {self.client} from {self.addr}"
        if self.role is not None:
            return f"{self.name} (role {self.role}) from {self.addr}"
        return f"user {self.name} from {self.addr}"
