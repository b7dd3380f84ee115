"""Calling a peer controller: its chain from `public_parent`, our certificate, its token."""

from __future__ import annotations

import os
import ssl

from powerctl.fleet import certs, contract
from powerctl.fleet.errors import SyncError
from powerctl.store import Database
from powerctl.store import fleet as store


def peer_context(data_dir: str | os.PathLike) -> ssl.SSLContext:
    """Verify a peer's server certificate with the synced chain, and present ours to it."""
    parent, mine = certs.folder(data_dir) / "parent.pem", certs.server_pem(data_dir)
    if not parent.exists():
        raise SyncError("no certificate synced yet: nothing to verify peers with")
    context = ssl.create_default_context(cafile=str(parent))
    context.load_cert_chain(str(mine))
    return context


def peer_authorization(db: Database, peer_id: str) -> str:
    """The Authorization header this controller presents to a peer (never log it)."""
    peer = store.peer_tokens(db).get(peer_id)
    if peer is None or not peer[1]:
        raise SyncError(f"no token for peer {peer_id}")
    return contract.peer_authorization(peer_id, peer[1][0])
