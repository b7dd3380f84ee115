"""Cost of authorising one bearer request, by scopes per client and tokens registered.

Measures, in-process against a real SQLite file: the store lookup of a token (one indexed
query, what every limited token and every first use costs), the whole token check as requests
see it (parse, hash, then the lookup or, for an unlimited token already seen, the in-memory
entry checked against the credentials generation), and the grant check of the 8 leaves of
GET relay/outlets/all;/physical_state/ both on a freshly compiled grant set (first request after
a registration) and in steady state.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scopes  # noqa: E402
from powerctl.auth.bearer import BearerVerifier  # noqa: E402
from powerctl.store import ClientRecord, Database  # noqa: E402

LEAVES = [("relay", "outlets", str(i), "physical_state") for i in range(8)]


def scope_texts(count: int) -> list[str]:
    texts = ["/relay/outlets/all;/physical_state/?access=get"]
    for i in range(count - 1):
        texts.append(
            f"/meter/values/sensor{i}/=value,name/?access=get"
            if i % 2
            else f"/relay/outlets/{i % 8}/=name,locked/?access=modify,get"
        )
    return texts


def fill(db: Database, tokens: int) -> None:
    per_client = 10_000
    for start in range(0, tokens, per_client):
        hashes = {
            hashlib.sha256(f"t{n}".encode()).hexdigest(): {}
            for n in range(start, min(tokens, start + per_client))
        }
        db.put_client(ClientRecord(f"filler{start}", "filler", ("/?access=get",), {}, {}, hashes, 0))


def us(stmt, number: int) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e6


def main() -> dict:
    results = {}
    print("authorising GET relay/outlets/all;/physical_state/ (8 leaves), microseconds")
    print(
        f"{'tokens':>8} {'scopes':>7} {'lookup':>7} {'token check':>12} {'compile':>9}"
        f" {'first check':>12} {'steady':>8}"
    )
    for tokens in (10, 100_000):
        with tempfile.TemporaryDirectory() as folder:
            db = Database(Path(folder) / "bench.db")
            fill(db, tokens)
            for count in (10, 100, 1000):
                texts = scope_texts(count)
                hello = hashlib.sha256(b"Hello").hexdigest()
                db.put_client(ClientRecord("bench", "bench", tuple(texts), {}, {}, {hello: {}}, 0))
                verifier = BearerVerifier(db)
                lookup = us(lambda d=hello, s=db: s.find_token("bench", d), 2000)
                verify = us(lambda v=verifier: v.verify("bench.SGVsbG8"), 2000)
                parsed = [scopes.parse_scope(t) for t in texts]
                compile_us = us(lambda p=parsed: scopes.GrantSet.compile(p), 20)
                fresh = [scopes.GrantSet.compile(parsed) for _ in range(50)]
                first = (
                    min(
                        timeit.repeat(
                            lambda f=fresh: [g.first_uncovered(LEAVES, "get") for g in f], number=1, repeat=1
                        )
                    )
                    / len(fresh)
                    * 1e6
                )
                grants = scopes.GrantSet.compile(parsed)
                steady = us(lambda g=grants: g.first_uncovered(LEAVES, "get"), 20000)
                results[(tokens, count)] = (lookup, verify, compile_us, first, steady)
                print(
                    f"{tokens:>8} {count:>7} {lookup:>7.1f} {verify:>12.1f} {compile_us:>9.0f}"
                    f" {first:>12.1f} {steady:>8.2f}"
                )
            db.close()
    for column, label in ((0, "store lookup"), (1, "token check")):
        small, large = results[(10, 100)][column], results[(100_000, 100)][column]
        print(
            f"{label}, 100,000 vs 10 registered tokens: x{large / small:.2f} "
            "(log2 ratio of table sizes is 13.3)"
        )
    return results


if __name__ == "__main__":
    main()
