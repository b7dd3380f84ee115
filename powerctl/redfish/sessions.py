"""SessionService: `POST {UserName, Password}` opens a session whose X-Auth-Token stands for the login.

Tokens are kept only as SHA-256 hashes, in memory: a restart logs every Redfish session out.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from powerctl.redfish.service import SCHEMAS, SESSION_SERVICE, SESSIONS
from powerctl.redfish.wire import collection, link, odata


@dataclass
class Session:
    id: str
    user: str
    token_hash: str
    expires: float


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RedfishSessions:
    """Open sessions; each lasts `timeout` seconds past its last use (DSP0266 SessionTimeout)."""

    def __init__(self, timeout: int = 1800, limit: int = 64):
        self.timeout = timeout
        self.limit = limit
        self._lock = threading.Lock()
        self._open: dict[str, Session] = {}

    def open(self, user: str) -> tuple[Session, str] | None:
        """A new session and its token, or None when `limit` sessions are open already."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._expire()
            if len(self._open) >= self.limit:
                return None
            session = Session(secrets.token_hex(8), user, _hash(token), time.monotonic() + self.timeout)
            self._open[session.id] = session
        return session, token

    def verify(self, token: str) -> Session | None:
        digest = _hash(token)
        with self._lock:
            self._expire()
            for session in self._open.values():
                if secrets.compare_digest(session.token_hash, digest):
                    session.expires = time.monotonic() + self.timeout
                    return session
        return None

    def get(self, session_id: str) -> Session | None:
        with self._lock:
            self._expire()
            return self._open.get(session_id)

    def close(self, session_id: str) -> bool:
        with self._lock:
            return self._open.pop(session_id, None) is not None

    def ids(self) -> list[str]:
        with self._lock:
            self._expire()
            return sorted(self._open)

    def _expire(self) -> None:
        now = time.monotonic()
        for session_id in [s.id for s in self._open.values() if s.expires <= now]:
            del self._open[session_id]


def session_service(timeout: int) -> dict:
    return odata(
        SESSION_SERVICE,
        f"#SessionService.{SCHEMAS['SessionService']}.SessionService",
        Id="SessionService",
        Name="Session Service",
        Status={"State": "Enabled", "Health": "OK"},
        ServiceEnabled=True,
        SessionTimeout=timeout,
        Sessions=link(SESSIONS),
    )


def session_collection(ids: list[str]) -> dict:
    return collection(SESSIONS, "SessionCollection", "Sessions", [f"{SESSIONS}/{i}" for i in ids])


def session_document(session: Session) -> dict:
    return odata(
        f"{SESSIONS}/{session.id}",
        f"#Session.{SCHEMAS['Session']}.Session",
        Id=session.id,
        Name=f"Session {session.id}",
        UserName=session.user,
        SessionType="Redfish",
    )
