"""The fleet server at scale: a synthetic fleet in PostgreSQL, notified by several instances.

A throwaway PostgreSQL cluster holds CONTROLLERS controllers (default 100,000, written with
COPY, one shared HTTPS pair), LAGGING of them (10,000) a version behind, half of those
unreachable (their notify_url is a closed port: refused at once) and half served by one local
HTTPS receiver that counts notifications per controller. A round makes the lagging ones due
in one UPDATE (a fleet-wide change) with the instances already running, and ends when every
reachable one has acknowledged; it prints the time, the duplicate notifications (must be 0),
the CPU per notification of the instances and of PostgreSQL, and each instance's peak RSS.
It runs twice, 1 instance x 2 workers and 2 instances x 1 worker, and prints their ratio.

Then the sync call: SYNCERS controllers enrolled over the admin API sync over mutual TLS, one
at a time, with a fresh TLS handshake, with a resumed TLS session, and on a kept-alive
connection; CPU per sync of the fleet server and of PostgreSQL. With `--before REV` the same
is measured, in the same run, on the fleet server of git revision REV (another database).

Finally the projection to 1,000,000 controllers that docs/scale.md explains. Smaller runs:
`--controllers 20000 --lagging 2000` (the figures say which numbers they are for).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import http.server
import io
import json
import multiprocessing
import os
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet_server import tree_cpu  # noqa: E402

from fleetserver import pki, settings  # noqa: E402
from fleetserver.database import FleetDatabase  # noqa: E402
from tests.fleetserver import postgres  # noqa: E402
from tests.fleetserver.support import MutualTLSServer, free_port, make_ca, start_fleet_server  # noqa: E402

SYNC = json.dumps(
    {"id": "b", "api": "3", "method": "cloud.access_keys_controller_sync", "params": {}}
).encode()
CONCURRENCY = 32  # per worker process: most of a notification's time is waiting on the network


def _receive(port: int, pem: str, ca: str, requests, answers) -> None:
    """The receiver process: HTTPS on `port`, 204 to /notify/<uuid>, counts on request."""
    folder = tempfile.mkdtemp()
    Path(folder, "r.pem").write_text(pem)
    counts: collections.Counter = collections.Counter()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                counts[self.path] += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = MutualTLSServer(("127.0.0.1", port), Handler, Path(folder, "r.pem"), ca)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while (order := requests.get()) != "stop":
        with lock:
            answers.put(dict(counts))
            if order == "reset":
                counts.clear()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns: connections are refused


def populate(url: str, controllers: int, lagging: int, receiver: str, closed: int) -> None:
    """COPY the synthetic fleet: the first `lagging` rows lag, every other one of them unreachable."""
    import psycopg

    db = FleetDatabase(url)
    db.migrate()
    issuer = settings.issuer(db)
    settings.fleet_peer_uuid(db)
    db.close()
    cert, key = pki.issue_server(*issuer, str(uuid.uuid4()), receiver, days=30)
    now = datetime.datetime.now(datetime.UTC)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        columns = (
            "uuid, serial, notify_url, version, fleet_token, server_cert_pem, server_key_pem,"
            " notified_version, notify_failures, created"
        )
        with cur.copy(f"COPY controllers ({columns}) FROM STDIN") as copy:
            for n in range(controllers):
                name = str(uuid.UUID(int=n + 1, version=4))
                late = n < lagging
                url_n = f"https://127.0.0.1:{closed}/notify/{name}" if late and n % 2 else receiver + name
                copy.write_row(
                    (name, f"{n:08d}", url_n, 2 if late else 1, f"t{n:031d}", cert, key, 1, 0, now)
                )
        cur.execute("ANALYZE controllers")


def make_due(url: str, lagging: int) -> None:
    """The fleet-wide change: the first `lagging` controllers due now, none acknowledged."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(
            "UPDATE controllers SET notified_version = 1, notify_failures = 0, notify_error = NULL,"
            " next_notify_at = CASE WHEN seq <= %s THEN now() END WHERE version = 2",
            (lagging,),
        )


def acknowledged(url: str, lagging: int) -> tuple[int, int]:
    """(reachable controllers among the first `lagging` notified of version 2, failed attempts
    since the change): a range of the primary key, so the bench's polling costs PostgreSQL little."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(
            "SELECT count(*) FILTER (WHERE notified_version = 2 AND mod(seq, 2) = 1),"
            " coalesce(sum(notify_failures), 0) FROM controllers WHERE seq <= %s",
            (lagging,),
        ).fetchone()


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of `pid` and its children (the workers), in MiB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
        todo += [int(child) for child in children]
    return total / 1024


def notify_round(
    url: str, folder: Path, shape: tuple[int, int], lagging: int, receiver, pg: int, timeout: float
) -> dict:
    """Start the instances, make the first `lagging` rows due, wait until the reachable ones
    among them have acknowledged."""
    instances, workers = shape
    requests, answers = receiver
    servers = []
    try:
        for n in range(instances):
            extra = ("--workers", str(workers), "--notify-concurrency", str(CONCURRENCY))
            servers.append(
                start_fleet_server(folder / f"i{instances}x{workers}-{n}", database=url, extra=extra)
            )
        time.sleep(2)  # every worker has started its queue
        requests.put("reset")
        answers.get(timeout=60)
        roots = [s.process.pid for s in servers]
        used, db_used = tree_cpu(roots), tree_cpu([pg])
        began = time.perf_counter()
        make_due(url, lagging)
        reachable = lagging // 2 + lagging % 2
        while (done := acknowledged(url, lagging))[0] < reachable:
            if time.perf_counter() - began > timeout:
                raise RuntimeError(f"only {done[0]} of {reachable} notified in {timeout} s")
            time.sleep(0.5)
        elapsed = time.perf_counter() - began
        cpu, db_cpu = tree_cpu(roots) - used, tree_cpu([pg]) - db_used
        attempts = reachable + int(done[1])
        requests.put("count")
        counts = answers.get(timeout=60)
        rss = [peak_rss_mb(pid) for pid in roots]
    finally:
        for server in servers:
            server.stop()
    return {
        "seconds": elapsed,
        "notified": len(counts),
        "duplicates": sum(c - 1 for c in counts.values()),
        "attempts": attempts,
        "cpu_ms": cpu / attempts * 1000,  # delivered and refused alike
        "db_ms": db_cpu / attempts * 1000,
        "rss": rss,
    }


def _sync_once(context: ssl.SSLContext, port: int, session=None, calls: int = 1):
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1", session=session) as tls:
            for n in range(calls):
                close = b"Connection: close\r\n" if n == calls - 1 else b""
                tls.sendall(
                    b"POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n%s"
                    b"Content-Length: %d\r\n\r\n%s" % (close, len(SYNC), SYNC)
                )
                answer = b""
                while b'"version":' not in answer or not answer.rstrip().endswith(b"}"):
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
                if not answer.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(answer[:300].decode(errors="replace"))
            return tls.session, tls.session_reused


def sync_costs(fleet, folder: Path, syncers: int, pg: int) -> dict:
    """CPU ms per sync (fleet server, PostgreSQL) by how the controller connects."""
    ca = make_ca("scale bench")
    fleet.admin.register_ca(ca)
    contexts = []
    for n in range(syncers):
        me = fleet.admin.enroll(ca, serial=f"{80000000 + n}")
        cert, key = me.write(folder / "ids", f"s{n}")
        context = ssl.create_default_context(cafile=fleet.ca_file)
        context.load_cert_chain(cert, key)
        contexts.append(context)
    port = int(fleet.base.rsplit(":", 1)[1])
    roots = [fleet.process.pid]
    out, sessions, reused = {}, [None] * syncers, 0

    def measure(name: str, run, calls: int = syncers) -> None:
        used, db_used = tree_cpu(roots), tree_cpu([pg])
        run()
        out[name] = ((tree_cpu(roots) - used) / calls * 1000, (tree_cpu([pg]) - db_used) / calls * 1000)

    def fresh() -> None:
        for n, context in enumerate(contexts):
            sessions[n], _ = _sync_once(context, port)

    def resumed() -> None:
        nonlocal reused
        for n, context in enumerate(contexts):
            sessions[n], again = _sync_once(context, port, sessions[n])
            reused += again

    measure("first sync, TLS handshake", fresh)
    measure("again, TLS handshake", fresh)
    measure("again, resumed TLS session", resumed)
    measure(
        "again, kept-alive connection",
        lambda: [_sync_once(c, port, calls=10) for c in contexts],
        syncers * 10,
    )
    out["resumed share"] = reused / syncers
    return out


def before_tree(revision: str, folder: Path) -> Path:
    """The packages of git revision `revision`, unpacked into `folder`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "fleetserver", "powerctl", "scopes", "hw"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def project(notify_ms: float, notify_db_ms: float, sync_ms: float, sync_db_ms: float) -> dict:
    """A full resync of 1,000,000 controllers within an hour: one notification and one sync each."""
    rate = 1_000_000 / 3600
    return {
        "rate": rate,
        "fleet_cores": rate * (notify_ms + sync_ms) / 1000,
        "db_cores": rate * (notify_db_ms + sync_db_ms) / 1000,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--controllers", type=int, default=100_000)
    parser.add_argument("--lagging", type=int, default=10_000)
    parser.add_argument("--syncers", type=int, default=100, help="controllers in the sync measurement")
    parser.add_argument("--before", metavar="REV", help="also measure the sync on this git revision")
    parser.add_argument("--timeout", type=float, default=900.0, help="per notification round")
    args = parser.parse_args([] if argv is None else argv)
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="fleet-scale-") as scratch:
        folder = Path(scratch)
        cluster = postgres.start(free_port())
        try:
            pg = cluster.postmaster_pid()
            url = cluster.database()
            port = free_port()
            base = f"https://127.0.0.1:{port}/notify/"
            began = time.perf_counter()
            populate(url, args.controllers, args.lagging, base, _closed_port())
            print(
                f"  {args.controllers} controllers written in {time.perf_counter() - began:.1f} s"
                f" ({args.lagging} lagging, half unreachable)",
                flush=True,
            )
            db = FleetDatabase(url)
            issuer = settings.issuer(db)
            db.close()
            pem = "".join(pki.issue_server(*issuer, str(uuid.uuid4()), base, days=30))
            ctx = multiprocessing.get_context("fork")
            requests, answers = ctx.Queue(), ctx.Queue()
            receiver = ctx.Process(
                target=_receive, args=(port, pem, issuer[0], requests, answers), daemon=True
            )
            receiver.start()
            try:
                # a first round runs slower (caches, first TLS contexts): warm up on a part
                warm = min(args.lagging, 1000)
                notify_round(url, folder, (1, 1), warm, (requests, answers), pg, args.timeout)
                for shape in ((1, 2), (2, 1)):
                    got = notify_round(
                        url, folder, shape, args.lagging, (requests, answers), pg, args.timeout
                    )
                    results[shape] = got
                    print(
                        f"  {shape[0]} instance(s) x {shape[1]} worker(s): all {got['notified']} reachable"
                        f" notified in {got['seconds']:.1f} s, {got['duplicates']} duplicates;"
                        f" CPU per notification {got['cpu_ms']:.2f} ms fleet server, {got['db_ms']:.2f} ms"
                        f" PostgreSQL; peak RSS per instance {', '.join(f'{r:.0f}' for r in got['rss'])} MiB",
                        flush=True,
                    )
            finally:
                requests.put("stop")
                receiver.join(timeout=10)
                if receiver.is_alive():
                    receiver.kill()
            fleet = start_fleet_server(folder / "sync", database=cluster.database())
            try:
                results["sync"] = sync_costs(fleet, folder / "sync-ids", args.syncers, pg)
            finally:
                fleet.stop()
            if args.before:
                tree = before_tree(args.before, folder / "before")
                old_env = dict(os.environ, PYTHONPATH=str(tree))
                saved, here = os.environ.copy(), os.getcwd()
                os.environ.update(old_env)  # start_fleet_server passes os.environ on
                os.chdir(tree)  # `python -m` looks in the working directory first
                try:
                    old = start_fleet_server(folder / "before-data", database=cluster.database())
                finally:
                    os.chdir(here)
                    os.environ.clear()
                    os.environ.update(saved)
                try:
                    results["before"] = sync_costs(old, folder / "before-ids", args.syncers, pg)
                finally:
                    old.stop()
        finally:
            cluster.stop()
    one, two = results[(1, 2)], results[(2, 1)]
    print(f"fleet at scale: {args.controllers} controllers, {args.lagging} lagging, half unreachable")
    print(f"  time to notify every reachable one: 1x2 {one['seconds']:.1f} s, 2x1 {two['seconds']:.1f} s")
    print(f"  ratio 2 instances x 1 worker / 1 instance x 2 workers: {two['seconds'] / one['seconds']:.2f}")
    print(f"  duplicate notifications: {one['duplicates'] + two['duplicates']}")
    print("  sync, CPU ms per call (fleet server, PostgreSQL):")
    for label in ("sync", "before"):
        if label in results:
            for name, value in results[label].items():
                if name != "resumed share":
                    print(f"    {label:6} {name:30} {value[0]:6.2f}  {value[1]:5.2f}")
            print(f"    {label:6} TLS sessions resumed: {results[label]['resumed share'] * 100:.0f} %")
    notify_ms = (one["cpu_ms"] + two["cpu_ms"]) / 2
    notify_db = (one["db_ms"] + two["db_ms"]) / 2
    sync_ms, sync_db = results["sync"]["first sync, TLS handshake"]
    plan = project(notify_ms, notify_db, sync_ms, sync_db)
    print(
        f"  1,000,000 controllers resynced in an hour ({plan['rate']:.0f} notifications and syncs/s):"
        f" {plan['fleet_cores']:.1f} fleet-server cores, {plan['db_cores']:.1f} PostgreSQL cores"
    )
    results["projection"] = plan
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
