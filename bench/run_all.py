"""`make bench`: every benchmark in turn; docs/performance.md records what they printed.

Run it on a quiet machine: each benchmark compares against a baseline measured in the same run,
but a busy second core still adds noise to the throughput ratio.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BENCHMARKS = [
    "throughput",
    "instructions",
    "slow_clients",
    "authorise",
    "serial_latency",
    "serial_drivers_latency",
    "network_latency",
    "http_latency",
    "fleet_sync",
    "fleet_server",
    "meter_history",
    "autoping",
    "fleet_scale",
]


def main(names: list[str]) -> int:
    for name in names or BENCHMARKS:
        print(f"== {name}", flush=True)
        importlib.import_module(name).main()
        print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
