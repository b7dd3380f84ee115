"""Probe latency and throughput with N hostile connections open, as ratios to a quiet run.

For the gateway over HTTP and HTTPS and for the fleet server (HTTPS), each in its own process
with default settings: first quiet, then with N connections (default 1,000; $SLOW_CLIENTS_N)
that send their header one byte every 2 s, their body likewise, nothing, or 4 bytes of a TLS
record (tests/e2e/hostile.py), each phase bounded to 60 s. The crowd comes from one address
(127.0.0.2: the per-address cap turns most away) and then from 16 (127.0.0.2-17: about 63
each, under the cap, so all N are open at once). A probe is one request on a new connection
from 127.0.0.1 (bearer GET of all outlets' physical_state, /health on the fleet server);
throughput is wrk's (16 connections, 5 s) on the same request.

`--tree DIR` runs the servers from another source tree (say, an export of an older commit),
to measure a before.
"""

from __future__ import annotations

import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import requests
from common import HELLO_HASH, PASSWORD, ROOT, load
from requests.auth import HTTPDigestAuth

sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import start_server
from tests.e2e.hostile import Crowd, client_context, probe

N = int(os.environ.get("SLOW_CLIENTS_N", "1000"))
PHASE = 60.0  # seconds, at most, per hostile phase
PROBES = 100
PATH = "/restapi/relay/outlets/all;/physical_state/"
BEARER = {"Authorization": "Bearer bench.SGVsbG8"}
CROWDS = {"one address": ("127.0.0.2",), "16 addresses": tuple(f"127.0.0.{i}" for i in range(2, 18))}


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def cpu_seconds(pid: int) -> float:
    """CPU seconds of process `pid` and its children (gunicorn's worker, forked workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(entry.name) == pid or int(fields[1]) == pid:
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measure(host: str, port: int, path: str, tls, headers: dict, url: str, deadline: float, pid: int) -> dict:
    """Probes, then throughput; the CPU the server and this process (crowd, probes) spent on the probes."""
    started, server_cpu, own_cpu = time.monotonic(), cpu_seconds(pid), time.process_time()
    times = []
    for _ in range(PROBES):
        if time.monotonic() > deadline:
            break
        times.append(probe(host, port, path, tls, timeout=2.0, headers=headers))
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    server_share = (cpu_seconds(pid) - server_cpu) / elapsed
    own_share = (time.process_time() - own_cpu) / elapsed
    ranked = sorted(math.inf if t is None else t for t in times)  # unanswered: slowest of all
    out = {
        "probes": len(times),
        "unanswered": ranked.count(math.inf),
        "p50": None,
        "p95": None,
        "server_cpu": server_share,
        "bench_cpu": own_share,
    }
    if ranked:
        for name, share in (("p50", 0.50), ("p95", 0.95)):
            value = ranked[max(0, math.ceil(share * len(ranked)) - 1)]
            out[name] = value if value != math.inf else None
    try:
        out["rps"] = load(url, headers, 5) if time.monotonic() + 5 < deadline else None
    except Exception as err:
        print(f"    wrk: {err}")
        out["rps"] = None
    return out


def ms(value) -> str:
    return f"{value * 1000:7.1f} ms" if value is not None else "   none   "


def report(label: str, row: dict, quiet: dict | None, crowd: Crowd | None = None) -> None:
    rps = f"{row['rps']:7.0f} req/s" if row.get("rps") else "   no throughput"
    line = f"    {label:<14} p50 {ms(row.get('p50'))}  p95 {ms(row.get('p95'))}  {rps}"
    if quiet and row.get("p95") and quiet.get("p95"):
        line += f"   p95 x{row['p95'] / quiet['p95']:.2f}"
    if quiet and row.get("rps") and quiet.get("rps"):
        line += f"  throughput x{row['rps'] / quiet['rps']:.2f}"
    line += f"   CPU: server {row['server_cpu']:.0%}, crowd+probes {row['bench_cpu']:.0%}"
    if row["unanswered"]:
        line += f"   {row['unanswered']} of {row['probes']} probes unanswered"
    print(line, flush=True)
    if crowd is not None:
        print(
            f"    {'':<14} crowd: {crowd.open} open at the end, {crowd.opened} connections made,"
            f" {crowd.turned_away} ended within 1 s (the cap, or 400 for garbage),"
            f" {crowd.closed} closed at a deadline,"
            f" {crowd.failed} failed to connect",
            flush=True,
        )


def scenario(name: str, host: str, port: int, tls, path: str, headers: dict, pid: int) -> dict:
    scheme = "https" if tls else "http"
    url = f"{scheme}://{host}:{port}{path}"
    print(f"  {name} ({scheme}), {N} hostile connections", flush=True)
    quiet = measure(host, port, path, tls, headers, url, time.monotonic() + PHASE, pid)
    report("quiet", quiet, None)
    results = {"quiet": quiet}
    for label, sources in CROWDS.items():
        deadline = time.monotonic() + PHASE
        with Crowd(host, port, N, tls=tls, sources=sources) as crowd:
            crowd.wait_open(N if len(sources) > 1 else 1, min(25.0, PHASE / 2))
            row = measure(host, port, path, tls, headers, url, deadline, pid)
            report(label, row, quiet, crowd)
        results[label] = row
    return results


def gateway(tree: str | None, http: bool) -> dict:
    env = dict(os.environ, POWERCTL_ADMIN_PASSWORD=PASSWORD)
    if tree:
        env["PYTHONPATH"] = tree
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(Path(folder) / "data", env=env, http=http)
        try:
            body = {
                "name": "bench",
                "redirect_urls": {},
                "refresh_tokens": {},
                "scopes": {"/relay/outlets/all;/physical_state/?access=get": True},
                "access_tokens": {HELLO_HASH: {}},
            }
            requests.put(
                server.url("/restapi/auth/clients/bench/"),
                json=body,
                headers={"X-CSRF": "x"},
                auth=HTTPDigestAuth("admin", PASSWORD),
                verify=True if http else server.cert,
            ).raise_for_status()
            tls = None if http else client_context(server.cert)
            port = int(server.base.rpartition(":")[2])
            return scenario("gateway", "127.0.0.1", port, tls, PATH, BEARER, server.process.pid)
        finally:
            server.stop()


def fleet(tree: str | None) -> dict | None:
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        print("  fleet server: skipped (no fleet extra)")
        return None
    from tests.fleetserver.support import start_fleet_server

    saved = os.environ.get("PYTHONPATH")
    if tree:
        os.environ["PYTHONPATH"] = tree
    try:
        with tempfile.TemporaryDirectory() as folder:
            server = start_fleet_server(Path(folder) / "fleet")
            try:
                tls = client_context(str(server.data_dir / "tls" / "cert.pem"))
                port = int(server.base.rpartition(":")[2])
                return scenario("fleet server", "127.0.0.1", port, tls, "/health", {}, server.process.pid)
            finally:
                server.stop()
    finally:
        if tree:
            os.environ.pop("PYTHONPATH") if saved is None else os.environ.update(PYTHONPATH=saved)


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    tree = argv[argv.index("--tree") + 1] if "--tree" in argv else None
    raise_fd_limit(4 * N + 1024)
    print(f"slow clients: probe latency and throughput, quiet and with {N} hostile connections")
    if tree:
        print(f"  servers from {tree}")
    return {
        "gateway http": gateway(tree, http=True),
        "gateway https": gateway(tree, http=False),
        "fleet https": fleet(tree),
    }


if __name__ == "__main__":
    main()
