"""The gateway's fleet client exceptions: one root, a subclass per way a sync fails."""

from __future__ import annotations


class SyncError(Exception):
    """A sync did not happen; the message is safe to show and to log (no tokens, no keys)."""


class Unreachable(SyncError):
    """The fleet server could not be reached, or TLS with it failed."""


class RemoteError(SyncError):
    """The fleet server answered with an error (JSON-RPC error object or an HTTP error)."""


class BundleRefused(SyncError):
    """The answer arrived but is refused whole: malformed, stale, or its certificates are bad."""
