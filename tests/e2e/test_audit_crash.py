"""kill -9 during a burst of client registrations: every acknowledged one has its audit line."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import requests
from requests.auth import HTTPDigestAuth

from powerctl.store import Database
from tests.e2e.conftest import start_server
from tests.support import ADMIN_PASSWORD

HELLO_HASH = "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969"
THREADS = 4
KILL_AFTER = 40  # acknowledged registrations; the kill follows the last at once


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_every_acknowledged_registration_survives_kill_9_with_its_audit_line(tmp_path):
    server = start_server(tmp_path / "data", http=True)
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def burst(n: int) -> None:
        with requests.Session() as session:
            session.auth = HTTPDigestAuth("admin", ADMIN_PASSWORD)
            i = 0
            while not enough.is_set():
                client = f"t{n}c{i}"
                i += 1
                body = {"name": client, "scopes": {"/relay/": True}, "access_tokens": {HELLO_HASH: {}}}
                try:
                    response = session.put(
                        server.url(f"/restapi/auth/clients/{client}/"),
                        json=body,
                        headers={"X-CSRF": "x"},
                        timeout=10,
                    )
                except requests.RequestException:
                    return  # the server is gone
                if response.status_code == 204:
                    with lock:
                        acknowledged.append(client)
                        if len(acknowledged) >= KILL_AFTER and not enough.is_set():
                            enough.set()
                            # the worker first: without its arbiter it would go on serving
                            for worker in children(server.process.pid):
                                os.kill(worker, signal.SIGKILL)
                            server.process.kill()

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(THREADS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert enough.is_set(), "the burst never reached the kill"
        server.process.wait(timeout=10)
    finally:
        enough.set()
        server.stop()
    db = Database(server.data_dir / "powerctl.db")
    try:
        lines = [line for _, line in db.audit_tail(100_000)]
        registered = set(db.client_ids())
    finally:
        db.close()
    assert set(acknowledged) <= registered
    missing = [
        c for c in acknowledged if not any(line.startswith(f"Client {c} registered by") for line in lines)
    ]
    assert missing == [], (
        f"{len(missing)} of {len(acknowledged)} acknowledged registrations have no audit line"
    )
