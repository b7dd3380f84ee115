"""The gateway app of another tree against this one's, both under this tree's server.

`bench/throughput.py` compares the gateway with a bare Flask endpoint under the same server, and
a cheaper server lowers that ratio for any app (docs/performance.md). To see whether the *app*
got cheaper, this serves an older tree's app with this tree's `powerctl.httpd`, beside this
tree's gateway and the bare endpoint, in interleaved rounds:

    python bench/app_cost.py --tree DIR --python DIR/.venv/bin/python [--rounds 8] [--seconds 3]

DIR is a checkout of the older commit and PYTHON a Python where its `powerctl` imports (its own
venv, `make install` there) and where h11 is installed. This tree's server is copied, as a
package of another name, into a temporary folder that PYTHON puts first on its path, so the
older app runs unchanged under exactly the server this tree ships.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from common import HELLO_HASH, PASSWORD, ROOT, free_port, load, register, start_gateway, stop, wait_http
from throughput import PATH, measured, start_bare

# Run by the other tree's Python: its app, this tree's server (as `served_by`), the logging
# `powerctl serve` sets up. argv: bind, data dir.
LAUNCHER = """
import logging, sys
import served_by as httpd
def build():
    stderr = httpd.BatchedStreamHandler(sys.stderr)
    stderr.setFormatter(httpd.StampFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("powerctl", "hw"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.handlers, logger.propagate = [stderr], False
    stdout = httpd.BatchedStreamHandler(sys.stdout)
    stdout.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("powerctl.access")
    logger.setLevel(logging.INFO)
    logger.handlers, logger.propagate = [stdout], False
    import powerctl
    return powerctl.create_app({"data_dir": sys.argv[2]})
sys.exit(httpd.serve(build, sys.argv[1], limits=httpd.Limits(), threads=16))
"""


def copy_server(folder: Path) -> None:
    """This tree's powerctl/httpd as the package `served_by` in folder, imports renamed."""
    target = folder / "served_by"
    shutil.copytree(ROOT / "powerctl" / "httpd", target, ignore=shutil.ignore_patterns("__pycache__"))
    for module in target.glob("*.py"):
        text = re.sub(r"\bpowerctl\.httpd\b", "served_by", module.read_text())
        module.write_text(text)
    (folder / "launch.py").write_text(LAUNCHER)


def start(command: list[str], cwd: Path, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [*command[:2], f"127.0.0.1:{port}", *command[2:]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
        env=dict(os.environ, POWERCTL_ADMIN_PASSWORD=PASSWORD, **env),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/restapi/", process)
    except BaseException:
        stop(process)  # one that never came up is not left running
        raise
    return process, base


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", required=True, type=Path, help="checkout of the other commit")
    parser.add_argument("--python", required=True, help="a Python where that tree's powerctl and h11 import")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args(argv)
    probe = subprocess.run(
        [args.python, "-c", "import h11, powerctl; print(powerctl.__file__)"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        raise SystemExit(
            f"{args.python} cannot import h11 and powerctl: {probe.stderr.strip().splitlines()[-1]}"
        )
    auth = {"Authorization": "Bearer bench.SGVsbG8"}
    servers: dict[str, tuple[subprocess.Popen, str, dict]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        copy_server(folder / "server")
        try:
            bare, base = start_bare([])
            servers["bare"] = (bare, base, {})
            other, base = start(
                [args.python, str(folder / "server" / "launch.py"), str(folder / "other")],
                args.tree,
                {"PYTHONPATH": str(folder / "server")},
            )
            servers[f"gateway, {args.tree.name}"] = (other, base, auth)
            ours, base = start_gateway(str(folder / "ours"))
            servers["gateway, this tree"] = (ours, base, auth)
            for _process, base, headers in servers.values():
                if headers:
                    register(
                        base,
                        "bench",
                        {"/relay/outlets/all;/physical_state/?access=get": True},
                        {HELLO_HASH: {}},
                    )
                load(base + PATH, headers, 2)  # warm up
            rows: dict[str, list[tuple[float, float]]] = {name: [] for name in servers}
            for _ in range(args.rounds):
                for name, (process, base, headers) in servers.items():
                    rps, cpu = measured(process, base + PATH, headers, args.seconds)
                    rows[name].append((rps, float("nan") if cpu is None else cpu))
        finally:
            for process, _base, _headers in servers.values():
                stop(process)
    bare_rows = rows["bare"]
    result = {}
    print(
        f"bearer GET {PATH}, all under this tree's powerctl.httpd ({args.rounds} rounds of {args.seconds} s)"
    )
    for name, data in rows.items():
        rps = statistics.median(r for r, _ in data)
        cpu = statistics.median(c for _, c in data)
        line = f"  {name:28s} {rps:7.0f} req/s  CPU {cpu:5.0f} us/request"
        if name != "bare":
            ratio = statistics.median(a[0] / b[0] for a, b in zip(data, bare_rows, strict=True))
            own = statistics.median(a[1] - b[1] for a, b in zip(data, bare_rows, strict=True))
            line += f"  ratio to bare {ratio:.2f}  own cost {own:4.0f} us"
            result[name] = {"rps": rps, "cpu_us": cpu, "ratio": ratio, "own_us": own}
        print(line)
    return result


if __name__ == "__main__":
    main()
