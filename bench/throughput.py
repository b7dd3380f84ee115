"""Bearer GET all;/physical_state/ through the gateway vs a bare Flask endpoint, same server.

Both run under the production server settings of `powerctl serve` (powerctl.httpd: one process,
requests read on its event loop, 16 app threads), plain HTTP so that TLS cost does not hide the
gateway's own cost.

A process's string hash seed lays out its dictionaries, and one layout can make a server a few
per cent faster or slower for as long as it runs: runs of one tree under four seeds gave ratios
of 0.74 to 0.81, three runs under one seed 0.78 to 0.81. So the rounds are spread over several
pairs of fresh processes, each pair (gateway and bare) under one random seed, as pyperf spreads
a benchmark over worker processes; the seeds are printed, and `--seeds 1,2,3` repeats a run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile

from common import HELLO_HASH, ROOT, free_port, load, register, start_gateway, stop, wait_http

PATH = "/restapi/relay/outlets/all;/physical_state/"


def start_bare(config: list[str], env: dict | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "bare_server.py"), f"127.0.0.1:{port}", *config[1:]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT / "bench",
        env=dict(os.environ, **(env or {})),
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(base + PATH, process)
    return process, base


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of process `pid` (all its threads) so far; None off Linux."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(process: subprocess.Popen, url: str, headers: dict, seconds: int) -> tuple[float, float | None]:
    """Requests per second against `url`, and the server's CPU microseconds per request.

    CPU time per request moves far less with the machine's load than requests per second do:
    other processes take the server's time, not its instructions.
    """
    before = cpu_seconds(process.pid)
    rps = load(url, headers, seconds)
    after = cpu_seconds(process.pid)
    if before is None or after is None or not rps:
        return rps, None
    return rps, (after - before) / (rps * seconds) * 1e6


def in_process(requests_each: int = 3000, rounds: int = 5) -> tuple[float, float]:
    """Microseconds per request through Flask's test client, no server: (gateway, bare).

    The same request as under the server, minus the server; the best of `rounds` for each.
    """
    import timeit

    from bare_app import app as bare_app

    import powerctl
    from powerctl.store import ClientRecord, Database

    with tempfile.TemporaryDirectory() as data:
        db = Database(f"{data}/powerctl.db")
        db.put_client(
            ClientRecord(
                "bench",
                "bench",
                ("/relay/outlets/all;/physical_state/?access=get",),
                {},
                {},
                {HELLO_HASH: {}},
                0,
            )
        )
        db.close()
        # a known admin password, so that the app makes none up and prints it
        os.environ.setdefault("POWERCTL_ADMIN_PASSWORD", "bench-password")
        app = powerctl.create_app({"data_dir": data})
        try:
            ours, bare = app.test_client(), bare_app.test_client()
            auth = {"Authorization": "Bearer bench.SGVsbG8"}
            assert ours.get(PATH, headers=auth).status_code == 207
            best = [
                min(
                    timeit.repeat(
                        lambda c=c, h=h: c.get(PATH, headers=h), number=requests_each, repeat=rounds
                    )
                )
                / requests_each
                * 1e6
                for c, h in ((ours, auth), (bare, {}))
            ]
        finally:
            powerctl.shutdown(app)
    return best[0], best[1]


def main(
    seconds: int = 5, rounds: int = 4, config: str | None = None, seeds: list[int] | None = None
) -> dict:
    """Median requests per second of both, and the median of the paired rounds' ratios.

    For each seed (three random ones unless given) a gateway and a bare server start under it
    and `rounds` rounds alternate between them, so the ratio of each pair of rounds compares
    them under the same machine conditions and the same hash seed; `config` is a TOML file both
    servers read.
    """
    extra = ["--config", config] if config else []
    seeds = seeds or [random.randrange(2**32) for _ in range(3)]
    ours, base, ours_cpu, base_cpu = [], [], [], []
    by_seed = {}
    for seed in seeds:
        env = {"PYTHONHASHSEED": str(seed)}
        with tempfile.TemporaryDirectory() as data:
            gateway, gbase = start_gateway(data, extra, env)
            try:
                bare, bbase = start_bare(extra, env)
            except BaseException:
                stop(gateway)  # a baseline that never came up leaves no gateway behind
                raise
            try:
                register(
                    gbase, "bench", {"/relay/outlets/all;/physical_state/?access=get": True}, {HELLO_HASH: {}}
                )
                auth = {"Authorization": "Bearer bench.SGVsbG8"}
                load(gbase + PATH, auth, 2)  # warm up both
                load(bbase + PATH, {}, 2)
                ratios = []
                for _ in range(rounds):
                    rps, cpu = measured(gateway, gbase + PATH, auth, seconds)
                    ours.append(rps)
                    ours_cpu.append(cpu)
                    rps, cpu = measured(bare, bbase + PATH, {}, seconds)
                    base.append(rps)
                    base_cpu.append(cpu)
                    ratios.append(ours[-1] / base[-1])
                by_seed[seed] = statistics.median(ratios)
            finally:
                stop(gateway)
                stop(bare)
    result = {
        "gateway_rps": statistics.median(ours),
        "bare_rps": statistics.median(base),
        "ratio": statistics.median(o / b for o, b in zip(ours, base, strict=True)),
    }
    if None not in ours_cpu + base_cpu:
        result.update(
            gateway_cpu_us=statistics.median(ours_cpu),
            bare_cpu_us=statistics.median(base_cpu),
            cpu_ratio=statistics.median(b / o for o, b in zip(ours_cpu, base_cpu, strict=True)),
            own_cpu_us=statistics.median(o - b for o, b in zip(ours_cpu, base_cpu, strict=True)),
        )
    print(f"bearer GET {PATH}")
    print(f"  gateway  {result['gateway_rps']:8.0f} req/s   (rounds: {', '.join(f'{x:.0f}' for x in ours)})")
    print(f"  bare     {result['bare_rps']:8.0f} req/s   (rounds: {', '.join(f'{x:.0f}' for x in base)})")
    print(
        f"  ratio    {result['ratio']:.2f}   (median of paired rounds;"
        " the bar: >= 0.79, the ratio before powerctl.httpd)"
    )
    seeds_text = ", ".join(f"{seed}: {ratio:.2f}" for seed, ratio in by_seed.items())
    print(f"  by hash seed (median of its {rounds} rounds): {seeds_text}")
    result["by_seed"] = by_seed
    if "cpu_ratio" in result:
        print(
            f"server CPU per request: gateway {result['gateway_cpu_us']:.0f} us,"
            f" bare {result['bare_cpu_us']:.0f} us, ratio {result['cpu_ratio']:.2f};"
            f" the gateway's own cost {result['own_cpu_us']:.0f} us (medians of paired rounds)"
        )
    ours_us, bare_us = in_process()
    result.update(in_process_gateway_us=ours_us, in_process_bare_us=bare_us)
    print(
        f"in-process (Flask test client, best of 5 x 3,000): gateway {ours_us:.0f} us,"
        f" bare {bare_us:.0f} us, ratio {bare_us / ours_us:.2f}"
    )
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", help="a TOML file both servers read")
    parser.add_argument("--seeds", help="hash seeds to run under, comma-separated (default: three random)")
    args = parser.parse_args()
    main(config=args.config, seeds=[int(seed) for seed in args.seeds.split(",")] if args.seeds else None)
