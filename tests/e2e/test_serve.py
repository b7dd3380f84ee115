"""`powerctl serve` as a real process: HTTPS, digest with requests, first start, restarts."""

from __future__ import annotations

import os
import re
import time

import requests
from requests.auth import HTTPDigestAuth

from tests.e2e.server_support import start_server
from tests.support import ADMIN_PASSWORD

CSRF = {"X-CSRF": "x"}


def test_requests_digest_reads_and_switches_over_https(server):
    session = requests.Session()
    session.auth = HTTPDigestAuth("admin", ADMIN_PASSWORD)
    session.verify = server.cert
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides session.verify
    outlets = session.get(server.url("/restapi/relay/outlets/"))
    assert outlets.status_code == 200 and len(outlets.json()) == 8
    put = session.put(server.url("/restapi/relay/outlets/2/state/"), data={"value": "false"}, headers=CSRF)
    assert put.status_code == 204
    matrix = session.get(server.url("/restapi/relay/outlets/all;/=name,physical_state/"))
    assert matrix.status_code == 207
    assert matrix.json()[4:6] == ["Outlet 3", False]
    unauthenticated = requests.get(server.url("/restapi/"), verify=server.cert)
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Digest ")


def test_certificate_is_made_once_and_reused(tmp_path):
    data = tmp_path / "data"
    first = start_server(data)
    cert = (data / "tls" / "cert.pem").read_bytes()
    first.stop()
    second = start_server(data)
    try:
        assert (data / "tls" / "cert.pem").read_bytes() == cert
        assert oct((data / "tls" / "key.pem").stat().st_mode & 0o777) == "0o600"
    finally:
        second.stop()


def test_first_start_without_a_password_prints_a_generated_one_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "POWERCTL_ADMIN_PASSWORD"}
    env["POWERCTL_ADMIN_PASSWORD"] = ""
    data = tmp_path / "data"
    first = start_server(data, env=env)
    try:
        match = re.search(r"with password: (\S+)", first.log.read_text())
        assert match, first.log.read_text()
        password = match.group(1)
        assert len(password) >= 16
        ok = requests.get(
            first.url("/restapi/relay/name/"), verify=first.cert, auth=HTTPDigestAuth("admin", password)
        )
        assert ok.status_code == 200
    finally:
        first.stop()
    second = start_server(data, env=env)
    try:
        assert "with password" not in second.log.read_text()
    finally:
        second.stop()
    assert password.encode() not in (data / "powerctl.db").read_bytes()


def test_plain_http_with_the_flag(tmp_path):
    server = start_server(tmp_path / "data", http=True)
    try:
        response = requests.get(
            server.url("/restapi/relay/outlets/0/name/"), auth=HTTPDigestAuth("admin", ADMIN_PASSWORD)
        )
        assert response.status_code == 200 and response.json() == "Outlet 1"
    finally:
        server.stop()


def test_bad_config_file_stops_with_a_clear_message(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "bad.toml"
    config.write_text("[relay]\ncycle_delay = -3\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "powerctl.cli",
            "serve",
            "--config",
            str(config),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "relay.cycle_delay" in result.stderr


def test_access_log_has_a_line_for_every_answer_in_order_the_last_ones_too(tmp_path):
    """The access log is written in batches off the request threads: each answer still gets
    its line, soon while serving, and those still queued at SIGTERM before the process exits."""
    server = start_server(tmp_path / "data", http=True)
    try:
        auth = HTTPDigestAuth("admin", ADMIN_PASSWORD)
        assert requests.get(server.url("/restapi/relay/outlets/0/name/"), auth=auth).status_code == 200
        deadline = time.monotonic() + 10
        while "/restapi/relay/outlets/0/name/" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "/restapi/relay/outlets/0/name/" in server.log.read_text()
        with requests.Session() as session:
            for n in range(20):
                session.get(server.url(f"/restapi/relay/outlets/{n}/name/"), auth=auth)
    finally:
        server.stop()
    line = re.compile(
        r'^127\.0\.0\.1 - - \[[^]]+\] "GET (/restapi/relay/outlets/\d+/name/) HTTP/1\.1" (\d{3}) \d+$'
    )
    answered = [m.groups() for m in map(line.match, server.log.read_text().splitlines()) if m]
    # a digest challenge (401) and its retry have a line each: count each target once, in order
    targets = [target for target, _ in answered]
    firsts = [
        t for i, t in enumerate(targets) if t != "/restapi/relay/outlets/0/name/" and t not in targets[:i]
    ]
    assert firsts == [f"/restapi/relay/outlets/{n}/name/" for n in range(1, 20)]
    assert ("/restapi/relay/outlets/19/name/", "404") in answered  # the last answer before SIGTERM


def test_access_log_queue_is_bounded_and_says_what_it_dropped():
    """A stream that stops taking lines (a full pipe) costs bounded memory: the excess is
    counted, and the count logged, rather than queued."""
    import io
    import logging

    from powerctl.httpd.accesslog import AccessLog, BatchedStreamHandler

    stream, warnings = io.StringIO(), io.StringIO()
    access, server_log = logging.getLogger("powerctl.access"), logging.getLogger("powerctl.httpd")
    saved = [(logger, logger.handlers, logger.level, logger.propagate) for logger in (access, server_log)]
    try:
        for logger, out in ((access, stream), (server_log, warnings)):
            logger.handlers, logger.propagate = [BatchedStreamHandler(out)], False
            logger.setLevel(logging.INFO)
        lines = AccessLog(max_lines=3)  # not started: nothing writes until flush()
        for n in range(5):
            lines.record("192.0.2.1", b"GET", b"/restapi/%d" % n, b"1.1", 200, 2)
        lines.flush()
    finally:
        for logger, handlers, level, propagate in saved:
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)
    written = stream.getvalue().splitlines()
    assert [line.split('"')[1] for line in written] == [f"GET /restapi/{n} HTTP/1.1" for n in range(3)]
    assert "2 access lines dropped" in warnings.getvalue()
