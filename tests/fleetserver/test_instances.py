"""Two `powerctl-fleet serve` processes on one PostgreSQL database share the notifications:
each reachable controller is told of a version exactly once, refused ones are retried with
growing gaps, and one instance killed mid-round loses nothing."""

from __future__ import annotations

import collections
import datetime
import functools
import http.server
import itertools
import json
import threading
import time
import uuid

import pytest

from fleetserver import pki, settings
from fleetserver.controllers import Controllers
from fleetserver.database import FleetDatabase
from fleetserver.schedule import Schedule
from tests.fleetserver.support import MutualTLSServer, free_port, start_fleet_server
from tests.support import wait_for

pytestmark = pytest.mark.e2e
CONTROLLERS = 200
REFUSING = 20
# concurrency 4 per instance, calls answered after 20 ms: a round takes long enough to kill one
NOTIFY = (
    "--notify-concurrency", "4",
    "--notify-retry", "0.3",
    "--notify-retry-max", "3",
    "--notify-connect-timeout", "2",
    "--notify-read-timeout", "3",
    "--notify-lease", "6",
)  # fmt: skip
eventually = functools.partial(wait_for, timeout=30.0, interval=0.05)


class Controllers200:
    """An HTTPS endpoint standing in for every controller (`/notify/<uuid>`), with a
    certificate from the fleet's issuer, that requires the notifier's client certificate and
    records (uuid, version, client certificate serial, time); it answers 503 to `refusing`."""

    def __init__(self, issuer: tuple[str, str], folder, refusing: set[str]):
        port = free_port()
        self.url = f"https://127.0.0.1:{port}/notify/"
        cert, key = pki.issue_server(*issuer, str(uuid.uuid4()), self.url, days=1)
        (folder / "receiver.pem").write_text(cert + key)
        self.calls: list[tuple[str, int, str, float]] = []
        lock, calls = threading.Lock(), self.calls

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):

                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                name = self.path.rstrip("/").rsplit("/", 1)[1]
                serial = self.connection.getpeercert()["serialNumber"]
                time.sleep(0.02)
                with lock:
                    calls.append((name, body["params"]["version"], serial, time.monotonic()))
                self.send_response(503 if name in refusing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        # the killed instance's connections end mid-call: the server takes that quietly
        self.server = MutualTLSServer(("127.0.0.1", port), Handler, folder / "receiver.pem", issuer[0])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def counts(self, version: int) -> collections.Counter:
        return collections.Counter(name for name, v, _s, _t in list(self.calls) if v == version)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def gaps(calls, name: str) -> list[float]:
    times = [t for n, _v, _s, t in calls if n == name]
    return [b - a for a, b in itertools.pairwise(times)]


def test_two_instances_notify_each_controller_once_and_survive_a_kill(pg_cluster, tmp_path):
    url = pg_cluster.database()
    first = start_fleet_server(tmp_path / "a", database=url, extra=NOTIFY)
    servers = [first]
    db = FleetDatabase(url)
    receiver = None
    try:
        servers.append(start_fleet_server(tmp_path / "b", database=url, extra=NOTIFY))
        issuer = settings.issuer(db)
        names = [str(uuid.UUID(int=n + 1, version=4)) for n in range(CONTROLLERS)]
        refusing = set(names[:REFUSING])
        reachable = names[REFUSING:]
        receiver = Controllers200(issuer, tmp_path, refusing)
        controllers = Controllers(db, issuer)
        for name in names:
            controllers.create(name, "70010111", receiver.url + name)

        # version 1 (enrolment) and then a fleet-wide change (version 2): each reachable
        # controller hears of each version once, from whichever instance claimed it
        assert eventually(lambda: len(receiver.counts(1)) == CONTROLLERS)
        assert Schedule(db).bump_all(batch=64) == CONTROLLERS
        assert eventually(lambda: set(reachable) <= set(receiver.counts(2)))
        time.sleep(1.0)  # nothing more comes for them
        for version in (1, 2):
            counts = receiver.counts(version)
            assert {counts[name] for name in reachable} == {1}, version
        assert len({serial for _n, _v, serial, _t in receiver.calls}) == 2  # both did work

        # a controller that refuses is tried again, less and less often: 0.15-0.3 s after the
        # first failure, doubling, 1.5-3 s from the fifth once the wait is capped. The early gaps
        # are no measure (while the instances are busy notifying the others, a retry waits its
        # turn: 1.2 s seen on a loaded machine), so the test reads gaps 5 and 6, which come when
        # the rest is done: a retry that did not back off would give 0.3-0.6 s there.
        assert eventually(lambda: all(len(gaps(receiver.calls, n)) >= 6 for n in refusing))
        for name in refusing:
            waits = gaps(receiver.calls, name)[:6]
            assert sum(waits[-2:]) / 2 > 1.2, waits

        # version 3, and the first instance is killed while its claims are in flight
        assert Schedule(db).bump_all() == CONTROLLERS
        assert eventually(lambda: len(receiver.counts(3)) >= 20, interval=0.005)
        first.process.kill()
        first.process.wait()
        assert len(receiver.counts(3)) < CONTROLLERS  # mid-round
        assert eventually(lambda: set(reachable) <= set(receiver.counts(3)))
        counts = receiver.counts(3)
        # sent by the dead instance but not recorded: sent again, at most its concurrency
        assert sum(counts[name] - 1 for name in reachable) <= 4
        answer = servers[1].admin.request("GET", f"/controllers/{reachable[-1]}").json()
        assert answer["notified_version"] == 3 and answer["next_notify_at"] is None
        refused = servers[1].admin.request("GET", f"/controllers/{names[0]}").json()
        assert refused["notify_failures"] >= 4 and "503" in refused["notify_error"]
        due = datetime.datetime.fromisoformat(refused["next_notify_at"])
        assert due > datetime.datetime.fromisoformat(refused["last_notify_at"])
    finally:
        if receiver is not None:
            receiver.stop()
        for server in servers:
            server.stop()
        db.close()
