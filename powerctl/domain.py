"""The services' exceptions: one root, each saying what happened; surfaces map them (errors.py)."""

from __future__ import annotations


class PowerctlError(Exception):
    """Root of every error a powerctl service raises; `details` are facts a surface may show.

    The message says what happened and names no URL or status: surfaces add those (errors.py).
    """

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class OutletLocked(PowerctlError):
    """A locked outlet refuses state changes until it is unlocked."""

    def __init__(self, index: int, name: str) -> None:
        super().__init__(f"outlet {index} ({name}) is locked")
        self.index = index


class BoardOffline(PowerctlError):
    """The board of an outlet is offline, so nothing is switched."""

    def __init__(self, board: str, index: int, reason: str) -> None:
        super().__init__(f'board "{board}" for outlet {index} is offline: {reason}', board=board)


class UnknownFunction(PowerctlError):
    """A script names a user function the configuration does not declare."""

    def __init__(self, name: str) -> None:
        super().__init__(f'there is no user function "{name}"')


class BadArguments(PowerctlError):
    """A user function was called with arguments it cannot run with."""


class ThreadLimit(PowerctlError):
    """As many script threads run as the configuration allows."""


class NoSuchThread(PowerctlError):
    """A script thread named to stop is not running (or not one the caller may see)."""


class ShuttingDown(PowerctlError):
    """The gateway is stopping and starts nothing new."""


class SessionLimit(PowerctlError):
    """A creator holds as many unexpired sessions as allowed."""


class FleetNotConfigured(PowerctlError):
    """Fleet sync was asked for, but the gateway has no fleet server configured."""


class LastAdmin(PowerctlError):
    """The change would leave the gateway without an admin user."""


class WeakPassword(PowerctlError):
    """A new password breaks the password rules (docs/security.md)."""


class WrongPassword(PowerctlError):
    """The old password given with a password change is not the user's."""


class NoSuchUser(PowerctlError):
    """A user named for a change does not exist."""


class NoSuchItem(PowerctlError):
    """An AutoPing item named by index is not there (another request removed it meanwhile)."""
