"""A throwaway PostgreSQL cluster from Debian's packages: initdb + pg_ctl, socket in a temp dir."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def available() -> bool:
    return _bin("initdb") is not None and _bin("pg_ctl") is not None


@dataclass
class Cluster:
    """A running cluster reachable only through its Unix socket; `database()` makes a fresh DB."""

    root: str
    port: int
    as_user: list[str]

    @property
    def socket_dir(self) -> str:
        return os.path.join(self.root, "run")

    def url(self, name: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{name}?host={self.socket_dir}&port={self.port}"

    def database(self, template: str | None = None) -> str:
        """A new database, empty or a copy of `template`; its SQLAlchemy URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(
            host=self.socket_dir, port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def postmaster_pid(self) -> int:
        with open(os.path.join(self.root, "data", "postmaster.pid")) as handle:
            return int(handle.readline())

    def stop(self) -> None:
        subprocess.run(
            [
                *self.as_user,
                _bin("pg_ctl"),
                "-D",
                os.path.join(self.root, "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start(port: int) -> Cluster:
    """initdb and start a cluster on `port` (socket only, trust auth), as `postgres` when root."""
    root = tempfile.mkdtemp(prefix="powerctl-pg-")
    os.makedirs(os.path.join(root, "run"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(os.path.join(root, "run"), "postgres")
    data = os.path.join(root, "data")
    subprocess.run(
        [*as_user, _bin("initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
        capture_output=True,
        check=True,
    )
    options = (
        f"-k {root}/run -p {port} -c listen_addresses='' -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    started = subprocess.run(
        [*as_user, _bin("pg_ctl"), "-D", data, "-o", options, "-l", os.path.join(root, "log"), "-w", "start"],
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        log = open(os.path.join(root, "log")).read() if os.path.exists(os.path.join(root, "log")) else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{log}")
    return Cluster(root, port, as_user)
