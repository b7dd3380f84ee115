"""Calling a peer controller: its chain from `public_parent`, our certificate, its token."""

from __future__ import annotations

import os
import ssl

from powerctl.auth.bearer import encode_token
from powerctl.fleet import certs
from powerctl.fleet.errors import FleetError
from powerctl.store import Database
from powerctl.store import fleet as store


def peer_context(data_dir: str | os.PathLike) -> ssl.SSLContext:
    """Verify a peer's server certificate with the synced chain, and present ours to it."""
    parent, mine = certs.folder(data_dir) / "parent.pem", certs.server_pem(data_dir)
    if not parent.exists():
        raise FleetError("no certificate synced yet: nothing to verify peers with")
    context = ssl.create_default_context(cafile=str(parent))
    context.load_cert_chain(str(mine))
    return context


def peer_authorization(db: Database, peer_id: str) -> str:
    """The Authorization header this controller presents to a peer (never log it)."""
    peer = store.peer_tokens(db).get(peer_id)
    if peer is None or not peer[1]:
        raise FleetError(f"no token for peer {peer_id}")
    return f"Bearer {peer_id}.{encode_token(peer[1][0].encode())}"
