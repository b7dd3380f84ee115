"""Fleet server throughput: 1,000 controllers syncing at once, SQLite vs PostgreSQL.

Each backend gets its own `powerctl fleet serve` (default settings) with the same fleet:
1,000 controllers, each with an ACTIVE client certificate, 10 clients of 2 token hashes and a
peer. Then every controller opens its own mutual-TLS connection and makes the sync call, all
released at once from two client processes (asyncio); a round's throughput is 1,000 / the time
to the last answer. Best of ROUNDS rounds; the ratio is measured in the same run. Because the
load generator shares the machine, it also prints the CPU time the fleet server (and, for
PostgreSQL, the database server) spent per sync, which other load on the machine disturbs less.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import os
import ssl
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fleetserver import postgres  # noqa: E402
from tests.fleetserver.support import free_port, make_ca, start_fleet_server  # noqa: E402

CONTROLLERS = int(os.environ.get("FLEET_BENCH_CONTROLLERS", "1000"))
ROUNDS = 3
CLIENT_PROCESSES = 2
SYNC = {"id": "bench", "api": "3", "method": "cloud.access_keys_controller_sync", "params": {}}


def enroll_fleet(fleet, folder: Path) -> list[tuple[str, str]]:
    """Register a CA and CONTROLLERS controllers with credentials; their (cert, key) files."""
    ca = make_ca("bench CA")
    fleet.admin.register_ca(ca)

    def one(n: int) -> tuple[str, str]:
        controller = str(uuid.UUID(int=n + 1, version=4))
        me = fleet.admin.enroll(ca, controller, serial=f"{70000000 + n}")
        clients = {
            str(uuid.UUID(int=(n << 8) + c, version=4)): [
                hashlib.sha256(f"{n}-{c}-{t}".encode()).hexdigest() for t in range(2)
            ]
            for c in range(10)
        }
        fleet.admin.request(
            "PUT", f"/controllers/{controller}/clients", {"clients": clients}
        ).raise_for_status()
        fleet.admin.put_peer(
            controller, str(uuid.uuid4()), "70010111", [f"peer-token-{n:016d}"]
        ).raise_for_status()
        return me.write(folder, f"c{n}")

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(CONTROLLERS)))


async def _sync(port: int, context: ssl.SSLContext, body: bytes) -> float:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"
    )
    writer.write(
        b"POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    if not answer.startswith(b"HTTP/1.1 200") or b'"version":' not in answer:
        raise RuntimeError(answer[:300].decode(errors="replace"))
    return time.perf_counter() - started


def _client(port: int, server_ca: str, pairs: list, start, results) -> None:
    contexts = []
    for cert, key in pairs:
        context = ssl.create_default_context(cafile=server_ca)
        context.load_cert_chain(cert, key)
        contexts.append(context)
    body = json.dumps(SYNC).encode()

    async def run() -> list[float]:
        start.wait()
        return await asyncio.gather(*(_sync(port, c, body) for c in contexts))

    results.put(asyncio.run(run()))


def _cpu_ticks() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU ticks used by it and by its children it waited for)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            out[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    return out


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds used so far by the processes `roots` and all their descendants."""
    table = _cpu_ticks()
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in table and pid not in found:
            found.add(pid)
            todo += [child for child, (parent, _) in table.items() if parent == pid]
    return sum(table[pid][1] for pid in found) / os.sysconf("SC_CLK_TCK")


def sync_round(port: int, server_ca: str, pairs: list) -> tuple[float, list[float]]:
    """Release every controller at once; (seconds to the last answer, per-call latencies)."""
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    slices = [pairs[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    workers = [ctx.Process(target=_client, args=(port, server_ca, s, start, results)) for s in slices]
    for worker in workers:
        worker.start()
    time.sleep(3)  # every client has built its TLS contexts
    began = time.perf_counter()
    start.set()
    latencies = [lat for _ in workers for lat in results.get(timeout=300)]
    elapsed = time.perf_counter() - began
    for worker in workers:
        worker.join()
    return elapsed, latencies


def measure(name: str, database: str | None, folder: Path, servers: list[int]) -> tuple[float, float]:
    """(best syncs/s, median CPU ms per sync of the fleet server plus database processes)."""
    fleet = start_fleet_server(folder / name, database=database)
    servers = [fleet.process.pid, *servers]
    try:
        began = time.perf_counter()
        pairs = enroll_fleet(fleet, folder / f"{name}-ids")
        print(
            f"  {name}: enrolled {CONTROLLERS} controllers in {time.perf_counter() - began:.1f} s", flush=True
        )
        port = int(fleet.base.rsplit(":", 1)[1])
        best, costs = 0.0, []
        for n in range(ROUNDS):
            used = tree_cpu(servers)
            elapsed, latencies = sync_round(port, fleet.ca_file, pairs)
            costs.append((tree_cpu(servers) - used) / CONTROLLERS * 1000)
            rate = CONTROLLERS / elapsed
            best = max(best, rate)
            cuts = statistics.quantiles(latencies, n=100)
            print(
                f"  {name} round {n + 1}: {rate:6.1f} syncs/s, server CPU {costs[-1]:.2f} ms/sync"
                f" (all {CONTROLLERS} in {elapsed:.2f} s; latency p50 {cuts[49] * 1000:.0f} ms,"
                f" p99 {cuts[98] * 1000:.0f} ms)",
                flush=True,
            )
        return best, statistics.median(costs)
    finally:
        fleet.stop()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as scratch:
        folder = Path(scratch)
        sqlite, sqlite_cpu = measure("sqlite", None, folder, [])
        cluster = postgres.start(free_port())
        try:
            pg, pg_cpu = measure("postgresql", cluster.database(), folder, [cluster.postmaster_pid()])
        finally:
            cluster.stop()
    print(
        f"fleet server, {CONTROLLERS} controllers syncing at once over mTLS (best of {ROUNDS};"
        " CPU: median, fleet server + database processes):"
    )
    print(f"  SQLite      {sqlite:7.1f} syncs/s   {sqlite_cpu:5.2f} ms CPU per sync")
    print(f"  PostgreSQL  {pg:7.1f} syncs/s   {pg_cpu:5.2f} ms CPU per sync")
    print(f"  PostgreSQL / SQLite: throughput {pg / sqlite:.2f}, CPU per sync {pg_cpu / sqlite_cpu:.2f}")


if __name__ == "__main__":
    main()
