"""AutoPing's scheduler under 1,000 items at a 1 s interval: CPU use and the worst lateness.

TCP checks against a local listener (in another process, so its CPU is not counted); in the
second run a tenth of the items watch a blackhole instead (a listener whose queue is full, so
a connect goes unanswered until ping_timeout), to show that dead addresses make no other check
late. Lateness is how long after its due time a check started (median, 99th percentile, worst).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time

ITEMS = 1000
INTERVAL = 1.0
WARMUP = 3.0
MEASURE = 10.0

LISTENER = r"""
import socket
live = socket.socket()
live.bind(("127.0.0.1", 0))
live.listen(4096)  # the kernel completes handshakes by itself while the queue has room
hole = socket.socket()
hole.bind(("127.0.0.1", 0))
hole.listen(0)
fill = []
for _ in range(8):  # until the queue is full and a connect goes unanswered
    sock = socket.socket()
    sock.setblocking(False)
    sock.connect_ex(hole.getsockname())
    fill.append(sock)
print(live.getsockname()[1], hole.getsockname()[1], flush=True)
while True:
    live.accept()[0].close()
"""


def run(live_port: int, hole_port: int, dead: int) -> tuple[float, list[float], int, float]:
    import powerctl

    items = [
        {"addresses": [f"tcp://127.0.0.1:{hole_port if i < dead else live_port}"], "outlets": [0]}
        for i in range(ITEMS)
    ]
    with tempfile.TemporaryDirectory() as data:
        app = powerctl.create_app(
            {
                "data_dir": data,
                "autoping": {
                    "ping_interval": INTERVAL,
                    "ping_timeout": 0.5,
                    "pings_before_enabling": 1,
                    "failures_before_reboot": 1000,
                    "items": items,
                },
            }
        )
        try:
            service = app.extensions["powerctl.autoping"]
            scheduler = service.scheduler
            time.sleep(WARMUP)
            scheduler.lateness, checks = [], scheduler.checks
            cpu, wall = time.process_time(), time.monotonic()
            time.sleep(MEASURE)
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
            live = [service.item_json(i) for i in range(dead, ITEMS)]
            answered = sum(item["rx"] for item in live) / max(1, sum(item["tx"] for item in live))
            late = sorted(scheduler.lateness)
            scheduler.lateness = None
            return cpu / wall, late, scheduler.checks - checks, answered
        finally:
            powerctl.shutdown(app)


def main() -> None:
    os.environ.setdefault("POWERCTL_ADMIN_PASSWORD", "bench-password")
    listener = subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True)
    try:
        live_port, hole_port = map(int, listener.stdout.readline().split())  # type: ignore[union-attr]
        with socket.create_connection(("127.0.0.1", live_port)):
            pass
        print(
            f"{ITEMS} items, TCP checks every {INTERVAL:g} s, measured for {MEASURE:g} s after {WARMUP:g} s"
        )
        for dead, label in ((0, "all answer (baseline)"), (ITEMS // 10, f"{ITEMS // 10} watch a blackhole")):
            share, late, checks, answered = run(live_port, hole_port, dead)
            p50, p99 = (late[int(len(late) * q)] * 1000 for q in (0.5, 0.99))
            print(
                f"  {label:24} checks/s {checks / MEASURE:5.0f}  CPU {share * 100:4.1f}% of a core"
                f"  lateness p50 {p50:5.1f} p99 {p99:6.1f} max {late[-1] * 1000:6.1f} ms"
                f"  live answered {answered:6.1%}"
            )
    finally:
        listener.kill()
        listener.wait()


if __name__ == "__main__":
    main()
