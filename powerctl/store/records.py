"""Plain records read from the store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OutletRecord:
    index: int
    name: str
    state: bool
    locked: bool
    critical: bool
    cycle_delay: float | None


@dataclass(frozen=True, slots=True)
class ClientRecord:
    id: str
    name: str
    scopes: tuple[str, ...]
    redirect_urls: dict
    refresh_tokens: dict
    access_tokens: dict[str, dict]
    revision: int


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """One presented token matched in the store: its client and what is left of it."""

    client: str
    client_name: str
    revision: int
    remaining: int | None
    denied: bool = False  # the client was deleted and not yet lifted: its tokens are refused
    kind: str = "local"  # "local", or synced from the fleet server: "fleet" client or "peer"
