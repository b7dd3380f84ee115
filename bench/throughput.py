"""Bearer GET all;/physical_state/ through the gateway vs a bare Flask endpoint, same server.

Both run under the production server settings of `powerctl serve` (gunicorn, one worker,
gthread, 16 threads), plain HTTP so that TLS cost does not hide the gateway's own cost.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile

from common import HELLO_HASH, ROOT, free_port, load, register, start_gateway, stop, wait_http

PATH = "/restapi/relay/outlets/all;/physical_state/"


def start_bare(config: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "bare_server.py"), f"127.0.0.1:{port}", *config[1:]],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT / "bench")
    base = f"http://127.0.0.1:{port}"
    wait_http(base + PATH, process)
    return process, base


def main(seconds: int = 5, rounds: int = 5, config: str | None = None) -> dict:
    """Median requests per second of both, and the median of the paired rounds' ratios.

    Rounds alternate between the two servers, so the ratio of each pair compares them under
    the same machine conditions; `config` is a TOML file both servers read.
    """
    extra = ["--config", config] if config else []
    with tempfile.TemporaryDirectory() as data:
        gateway, gbase = start_gateway(data, extra)
        bare, bbase = start_bare(extra)
        try:
            register(gbase, "bench", {"/relay/outlets/all;/physical_state/?access=get": True},
                     {HELLO_HASH: {}})
            auth = {"Authorization": "Bearer bench.SGVsbG8"}
            load(gbase + PATH, auth, 2)  # warm up both
            load(bbase + PATH, {}, 2)
            ours, base = [], []
            for _ in range(rounds):
                ours.append(load(gbase + PATH, auth, seconds))
                base.append(load(bbase + PATH, {}, seconds))
        finally:
            stop(gateway)
            stop(bare)
    result = {"gateway_rps": statistics.median(ours), "bare_rps": statistics.median(base),
              "ratio": statistics.median(o / b for o, b in zip(ours, base, strict=True))}
    print(f"bearer GET {PATH}")
    print(f"  gateway  {result['gateway_rps']:8.0f} req/s   (rounds: {', '.join(f'{x:.0f}' for x in ours)})")
    print(f"  bare     {result['bare_rps']:8.0f} req/s   (rounds: {', '.join(f'{x:.0f}' for x in base)})")
    print(f"  ratio    {result['ratio']:.2f}   (median of paired rounds; target >= 0.75)")
    return result


if __name__ == "__main__":
    main(config=sys.argv[1] if len(sys.argv) > 1 else None)
