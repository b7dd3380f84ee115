"""An SNMP PDU on loopback: snmpsim's command responder serving a profile's data file.

snmp_data/<profile>.snmprec holds an 8-outlet PDU of that profile; its outlet cells use the
variation module snmp_data/variation/outlet.py, so SETs change what later GETs answer and
survive a restart of the agent. snmpsim (from powerctl[test]) runs as a child process. Run as
root, it refuses to serve until told which user to become (`nobody` here), so its data and cache
go to a directory that user owns.
"""

from __future__ import annotations

import argparse
import contextlib
import grp
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).with_name("snmp_data")
PROFILES = sorted(path.stem for path in DATA.glob("*.snmprec"))
READY = "Listening at UDP/IPv4 endpoint"
# snmpsim imports these after it has dropped root; an interpreter or a virtualenv under a
# directory `nobody` cannot read (pyenv in /root, a checkout in a 0700 folder) could not find
# them then, so the child imports them first: codecs, dbm, and SNMPv3's ciphers and digests
# (cryptography loads its OpenSSL backend on first use).
PRELOAD = (
    "import sys, dbm.dumb, encodings.latin_1, encodings.ascii, encodings.utf_8\n"
    "from cryptography.hazmat.backends import default_backend\n"
    "from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes\n"
    "default_backend()\n"
    "from pysnmp.entity import config, engine\n"
    "from snmpsim.commands.responder import main\n"
    "sys.exit(main())\n"
)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SnmpAgent:
    """snmpsim serving one profile on 127.0.0.1:port; stop() and start() keep port and state.

    v2c answers `community`; v3 answers `v3_user` (with SHA/AES keys if given) in the context
    named like the community, as snmpsim maps contexts to data files.
    """

    def __init__(
        self,
        profile: str = "apc-rpdu",
        *,
        community: str = "public",
        port: int | None = None,
        v3_user: str | None = None,
        auth_key: str | None = None,
        priv_key: str | None = None,
        user: str = "nobody",
        group: str = "nogroup",
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"no data file for profile {profile!r} (have {', '.join(PROFILES)})")
        self.profile = profile
        self.community = community
        self.port = port or free_udp_port()
        self.v3 = (v3_user, auth_key, priv_key)
        self._user, self._group = user, group
        self._process: subprocess.Popen | None = None
        self.dir = Path(tempfile.mkdtemp(prefix="powerctl-snmpsim-"))
        (self.dir / "data").mkdir()
        (self.dir / "cache").mkdir()
        shutil.copy(DATA / f"{profile}.snmprec", self.dir / "data" / f"{community}.snmprec")
        self.dir.chmod(0o755)
        if os.getuid() == 0:
            uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
            for path in (self.dir, self.dir / "data", self.dir / "cache"):
                os.chown(path, uid, gid)

    def __enter__(self) -> SnmpAgent:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def log(self) -> Path:
        return self.dir / "agent.log"

    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def cells(self) -> dict[str, int]:
        """Every outlet cell that was SET, by OID, as the agent keeps it."""
        with contextlib.suppress(FileNotFoundError):
            return json.loads(self.state_file.read_text())
        return {}

    def sets(self) -> list[tuple[float, str, int]]:
        """Every SET the agent accepted, in order: (time.time() on arrival, OID, value written)."""
        with contextlib.suppress(FileNotFoundError):
            lines = Path(f"{self.state_file}.log").read_text().splitlines()
            return [(float(at), oid, int(value)) for at, oid, value in (line.split() for line in lines)]
        return []

    def start(self, wait: float = 30.0) -> None:
        """Start serving and wait until the agent listens (indexing the data file comes first)."""
        if self.running:
            return
        args = [
            sys.executable,
            "-c",
            PRELOAD,
            f"--data-dir={self.dir / 'data'}",
            f"--cache-dir={self.dir / 'cache'}",
            f"--variation-modules-dir={DATA / 'variation'}",
            f"--variation-module-options=outlet:{self.state_file}",
            f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
            "--logging-method=stderr",
        ]
        v3_user, auth_key, priv_key = self.v3
        if v3_user:
            args.append(f"--v3-user={v3_user}")
            if auth_key:
                args += [f"--v3-auth-key={auth_key}", "--v3-auth-proto=SHA"]
            if priv_key:
                args += [f"--v3-priv-key={priv_key}", "--v3-priv-proto=AES"]
        if os.getuid() == 0:
            args += [f"--process-user={self._user}", f"--process-group={self._group}"]
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            # this interpreter and our own arguments, no shell
            self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)  # noqa: S603
        until = time.monotonic() + wait
        while READY not in self.log.read_text(errors="replace")[offset:]:
            if self._process.poll() is not None or time.monotonic() > until:
                self.stop()
                raise RuntimeError(f"snmpsim did not start; its log:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the agent: it stops answering, as an unplugged PDU does."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def pause(self) -> None:
        """Freeze the agent (SIGSTOP): requests pile up unanswered until resume()."""
        if self.running:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            self._process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        self.resume()
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def main(argv: list[str], prog: str) -> int:
    """Serve a profile until SIGTERM or SIGINT; the first line on stdout is host:port."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="apc-rpdu")
    parser.add_argument("--port", type=int, default=None, help="UDP port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--community", default="public")
    parser.add_argument("--v3-user", default=None)
    parser.add_argument("--v3-auth-key", default=None, help="SHA key of --v3-user")
    parser.add_argument("--v3-priv-key", default=None, help="AES key of --v3-user")
    options = parser.parse_args(argv)
    stop = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.append(True))
    agent = SnmpAgent(
        options.profile,
        community=options.community,
        port=options.port,
        v3_user=options.v3_user,
        auth_key=options.v3_auth_key,
        priv_key=options.v3_priv_key,
    )
    with agent:
        print(f"127.0.0.1:{agent.port}", flush=True)
        while not stop and agent.running:
            time.sleep(0.2)
    return 0
