"""Shared bench helpers: start servers, drive load with wrk (or a Python fallback)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

import requests
from requests.auth import HTTPDigestAuth

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"
HELLO_HASH = "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited")
        try:
            requests.get(url, timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy starting
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def start_gateway(
    data_dir: str, extra: list[str] | None = None, env: dict | None = None
) -> tuple[subprocess.Popen, str]:
    """`powerctl serve --http` on a free port; `env` is added to this process's environment."""
    port = free_port()
    env = dict(os.environ, POWERCTL_ADMIN_PASSWORD=PASSWORD, **(env or {}))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "powerctl.cli",
            "serve",
            "--http",
            "--bind",
            f"127.0.0.1:{port}",
            "--data-dir",
            data_dir,
            *(extra or []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/restapi/", process)
    return process, base


def register(base: str, client: str, scopes: dict, tokens: dict) -> None:
    body = {
        "name": client,
        "redirect_urls": {},
        "refresh_tokens": {},
        "scopes": scopes,
        "access_tokens": tokens,
    }
    response = requests.put(
        f"{base}/restapi/auth/clients/{client}/",
        json=body,
        headers={"X-CSRF": "x"},
        auth=HTTPDigestAuth("admin", PASSWORD),
    )
    response.raise_for_status()


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def load(url: str, headers: dict, seconds: float, connections: int = 16) -> float:
    """Requests per second against url, with wrk when installed."""
    if shutil.which("wrk"):
        args = ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s"]
        for name, value in headers.items():
            args += ["-H", f"{name}: {value}"]
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if non2xx:
            raise RuntimeError(f"{non2xx.group(1)} failed requests against {url}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return _python_load(url, headers, seconds, connections)


def _python_load(url: str, headers: dict, seconds: float, connections: int) -> float:
    host, _, rest = url.removeprefix("http://").partition("/")
    path = "/" + rest
    counts = [0] * connections
    deadline = time.monotonic() + seconds

    def worker(slot: int) -> None:
        conn = HTTPConnection(*host.split(":"))
        while time.monotonic() < deadline:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 300:
                raise RuntimeError(f"status {response.status}")
            counts[slot] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds
