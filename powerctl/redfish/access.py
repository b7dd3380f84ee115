"""Who a Redfish request is and what it may touch, asked of the gateway's authentication and grants."""

from __future__ import annotations

from flask import request

from powerctl import access
from powerctl.audit import audit
from powerctl.auth import Principal, authenticator
from powerctl.errors import Unauthorized
from powerctl.redfish import outlets as rf_outlets
from powerctl.redfish.sessions import RedfishSessions
from powerctl.relay import Relay
from scopes import Access


class Gatekeeper:
    def __init__(self, relay: Relay, sessions: RedfishSessions):
        self._relay = relay
        self._sessions = sessions

    @property
    def realm(self) -> str:
        return authenticator().realm

    def principal(self) -> Principal:
        """The caller: a Redfish session's X-Auth-Token, or any credential /restapi/ accepts."""
        token = request.headers.get("X-Auth-Token")
        addr = request.remote_addr or "unknown"
        if token is not None:
            session = self._sessions.verify(token)
            if session is None:
                authenticator().refuse(addr, "unknown or expired Redfish session", identity="redfish-session")
                raise Unauthorized("the X-Auth-Token is not an open session; log in again")
            # the session's user as its record stands now (demoted: no longer an admin)
            return Principal(
                "redfish-session", session.user, None, addr, authenticator().user_grants(session.user)
            )
        return access.authenticate()

    def login(self, user: str, password: str) -> Principal:
        principal = authenticator().password_login(user, password, request.remote_addr or "unknown")
        access.require_admin(principal, "Redfish sessions are for admins only")
        return principal

    def admin(self) -> Principal:
        principal = self.principal()
        access.require_admin(principal, "Redfish sessions are for admins only")
        return principal

    def covered(self, principal: Principal, leaves: list[tuple[str, ...]], word: Access) -> bool:
        return access.covers(principal, leaves, word, self._relay.attrs)

    def shown(self, principal: Principal, index: int) -> set[str]:
        """The Outlet properties the caller may read."""
        return {
            name
            for name, leaf in rf_outlets.READABLE.items()
            if self.covered(principal, [leaf(index)], Access.GET)
        }

    def sees_outlets(self, principal: Principal) -> list[int]:
        """The outlets whose state the caller may read: at least one (audited), or 403."""
        leaf = rf_outlets.READABLE[rf_outlets.REQUIRED]
        members = [i for i in range(self._relay.count) if self.covered(principal, [leaf(i)], Access.GET)]
        if not members:
            access.deny(
                principal, "no get scope covers any /relay/outlets/N/physical_state/", insufficient=True
            )
        access.allow(principal)
        return members

    def may_any(self, principal: Principal, wanted: list[tuple[tuple[str, ...], Access]]) -> None:
        """403 (audited) unless the caller may do at least one of these, before its body is read."""
        if not any(self.covered(principal, [leaf], word) for leaf, word in wanted):
            first, word = wanted[0]
            access.deny(principal, f"no {word} scope covers {access.where(first)}", insufficient=True)

    def require(self, principal: Principal, leaves: list[tuple[str, ...]], word: Access) -> None:
        """All or nothing: every leaf covered for `word`, or 403 naming the first that is not."""
        access.require(principal, leaves, word, self._relay.attrs)

    def allowed(self, principal: Principal) -> None:
        access.allow(principal)

    def audit(self, line: str) -> None:
        audit().record(line)
