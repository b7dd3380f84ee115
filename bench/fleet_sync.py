"""Cost of a fleet sync for a controller with 10,000 synced clients, and of checking their tokens.

In-process, on real SQLite files. The sync is timed in its two halves, validating the answer
(marshmallow, then the certificate's key and chain) and applying it (one transaction that
replaces every synced row, plus the certificate file), against a baseline measured in the same
run: a plain executemany INSERT of the same rows into a table of the same shape in one
transaction. The bearer check of a synced token (parse, hash, lookup, grants) is timed with
10 and with 10,000 synced clients, on a cache miss and in steady state.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import timeit
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from powerctl.auth.bearer import BearerVerifier, encode_token  # noqa: E402
from powerctl.fleet import FleetSync  # noqa: E402
from powerctl.fleet.bundle import parse_result  # noqa: E402
from powerctl.store import Database  # noqa: E402
from tests.fleet.support import entry, make_ca  # noqa: E402

HASHES_PER_CLIENT = 2


def bundle(clients: int, version: int, ca) -> tuple[dict, list[str]]:
    ids = [str(uuid.UUID(int=n + 1)) for n in range(clients)]
    result = {
        "clients": {
            cid: [hashlib.sha256(f"{cid}/{k}".encode()).hexdigest() for k in range(HASHES_PER_CLIENT)]
            for cid in ids
        },
        "peers": {
            str(uuid.UUID(int=10**9 + n)): {"id": f"7001{n:04d}", "tokens": [f"peer-{n}"]} for n in range(10)
        },
        "current": [entry(ca)],
        "version": version,
    }
    return result, ids


def ms(stmt, number: int = 1, repeat: int = 5) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number * 1e3


def baseline_insert(folder: Path, rows: list[tuple[str, str]]) -> float:
    db = Database(folder / "baseline.db")
    conn = db.connection()
    conn.execute(
        "CREATE TABLE plain (client TEXT NOT NULL, hash TEXT NOT NULL, peer INTEGER,"
        " token TEXT, PRIMARY KEY (client, hash)) WITHOUT ROWID"
    )

    def insert() -> None:
        with db.transaction():
            conn.execute("DELETE FROM plain")
            conn.executemany("INSERT INTO plain (client, hash, peer, token) VALUES (?, ?, 0, NULL)", rows)

    cost = ms(insert)
    db.close()
    return cost


def sync_costs(folder: Path, ca) -> dict:
    result, _ids = bundle(10_000, 1, ca)
    rows = [(cid, digest) for cid, digests in result["clients"].items() for digest in digests]
    data = folder / "sync"
    data.mkdir()
    db = Database(data / "powerctl.db")
    syncer = FleetSync(db, {"timeout": 5}, str(data), lambda _line: None)
    syncer.apply(parse_result(result))  # a controller that already holds a full bundle
    validate = ms(lambda: parse_result(result))
    parsed = parse_result(result)
    apply = ms(lambda: syncer.apply(parsed))
    db.close()
    base = baseline_insert(folder, rows)
    return {"rows": len(rows), "baseline": base, "validate": validate, "apply": apply}


def bearer_costs(folder: Path, ca, clients: int) -> tuple[float, float]:
    result, ids = bundle(clients, 1, ca)
    data = folder / f"bearer{clients}"
    data.mkdir()
    db = Database(data / "powerctl.db")
    FleetSync(db, {"timeout": 5}, str(data), lambda _line: None).apply(parse_result(result))
    verifier = BearerVerifier(db)
    target = ids[len(ids) // 2]
    credentials = f"{target}.{encode_token(f'{target}/1'.encode())}"
    verifier.verify(credentials)

    def miss() -> None:
        verifier._known.clear()
        verifier.verify(credentials)

    cold = ms(miss, number=2000) * 1e3
    steady = ms(lambda: verifier.verify(credentials), number=2000) * 1e3
    db.close()
    return cold, steady


def main() -> dict:
    ca = make_ca()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        sync = sync_costs(folder, ca)
        small, large = bearer_costs(folder, ca, 10), bearer_costs(folder, ca, 10_000)
    base = sync["baseline"]
    print(f"sync of 10,000 clients ({sync['rows']} token hashes, 10 peers, 1 certificate), ms")
    print(f"  baseline: plain INSERT of the same rows   {base:8.1f}   1.00x")
    print(
        f"  validate (schema, key, chain)              {sync['validate']:8.1f}"
        f"   {sync['validate'] / base:.2f}x"
    )
    print(f"  apply (replace in one transaction, file)   {sync['apply']:8.1f}   {sync['apply'] / base:.2f}x")
    total = sync["validate"] + sync["apply"]
    print(f"  whole sync without the network             {total:8.1f}   {total / base:.2f}x")
    print("bearer check of a synced token, microseconds")
    print(f"  {'synced clients':>15} {'cache miss':>11} {'steady':>8}")
    print(f"  {10:>15} {small[0]:>11.1f} {small[1]:>8.1f}")
    print(f"  {10_000:>15} {large[0]:>11.1f} {large[1]:>8.1f}")
    print(f"  ratio 10,000 / 10: cache miss {large[0] / small[0]:.2f}x, steady {large[1] / small[1]:.2f}x")
    return {"sync": sync, "bearer_10": small, "bearer_10000": large}


if __name__ == "__main__":
    main()
