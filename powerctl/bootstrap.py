"""First start of a data directory: secrets, identity and the first admin."""

from __future__ import annotations

import os
import secrets
import sys

from powerctl.store import Database

ADMIN = "admin"


def ensure_data_dir(path: str) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)


def ensure_identity(db: Database, lockout_minutes: int) -> bytes:
    """Create the per-device secrets and settings once; return the nonce signing key."""
    db.setting_or_create("serial", lambda: secrets.token_hex(4).upper())
    db.setting_or_create("lockout_delay_minutes", lambda: lockout_minutes)
    return bytes.fromhex(db.setting_or_create("nonce_key", lambda: secrets.token_hex(32)))


def ensure_admin(db: Database, ha1) -> None:
    """With no users yet, create `admin`; a generated password is printed once, never stored."""
    if db.users():
        return
    given = os.environ.get("POWERCTL_ADMIN_PASSWORD")
    password = given or secrets.token_urlsafe(12)
    if not db.add_user_if_none(ADMIN, ha1(ADMIN, password)):
        return
    if given:
        print(
            f"powerctl: created admin user {ADMIN!r} with the password from POWERCTL_ADMIN_PASSWORD",
            file=sys.stderr,
            flush=True,
        )
    else:
        print(
            f"powerctl: created admin user {ADMIN!r} with password: {password}\n"
            "powerctl: this password is shown only once; keep it safe",
            file=sys.stderr,
            flush=True,
        )
