"""Who a Redfish request is and what it may touch, asked of the gateway's authentication and grants."""

from __future__ import annotations

from flask import request

from powerctl.audit import audit
from powerctl.auth import Principal, authenticator
from powerctl.errors import Unauthorized
from powerctl.redfish import outlets as rf_outlets
from powerctl.redfish.sessions import RedfishSessions
from powerctl.relay import Relay
from powerctl.restapi.authorise import deny
from powerctl.restapi.wire import raw_target
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
            return Principal("redfish-session", session.user, None, addr)
        return authenticator().authenticate(raw_target())

    def login(self, user: str, password: str) -> Principal:
        return authenticator().password_login(user, password, request.remote_addr or "unknown")

    def admin(self) -> Principal:
        principal = self.principal()
        if not principal.is_admin:
            deny(principal, "Redfish sessions are for admins only")
        return principal

    def covered(self, principal: Principal, leaves: list[tuple[str, ...]], access: Access) -> bool:
        grants = principal.grants
        return grants is None or grants.first_uncovered(leaves, access, self._relay.attrs) is None

    def shown(self, principal: Principal, index: int) -> set[str]:
        """The Outlet properties the caller may read."""
        return {
            name
            for name, leaf in rf_outlets.READABLE.items()
            if self.covered(principal, [leaf(index)], Access.GET)
        }

    def require(self, principal: Principal, leaves: list[tuple[str, ...]], access: Access) -> None:
        """All or nothing: every leaf covered for `access`, or 403 naming the first that is not."""
        grants = principal.grants
        if grants is not None:
            missing = grants.first_uncovered(leaves, access, self._relay.attrs)
            if missing is not None:
                deny(principal, f"no {access} scope covers /{'/'.join(missing)}/", insufficient=True)
        self.allowed(principal)

    def allowed(self, principal: Principal) -> None:
        audit().record(f"access allowed for {principal.describe()}")

    def audit(self, line: str) -> None:
        audit().record(line)
