"""A real `powerctl fleet serve` process: sync over mutual TLS, and notifications."""

from __future__ import annotations

import base64
import functools
import http.server
import json
import ssl
import threading
import time
import uuid

import pytest
import requests
from cryptography.hazmat.primitives import hashes

from tests.fleetserver.support import free_port, make_ca, start_fleet_server
from tests.support import wait_for

pytestmark = pytest.mark.e2e
H1 = "eb7a599e4a991e61809ff9f0883e5801cb33e96ea165350b90a1a210023596e7"
CLIENT = "708e3376-5cb1-4fa8-923f-cda75b9e9e33"
# notifications cross processes and TLS handshakes: a longer budget than in-process tests
eventually = functools.partial(wait_for, timeout=10.0, interval=0.05)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    running = start_fleet_server(tmp_path_factory.mktemp("fleet") / "data")
    yield running
    running.stop()


def certificate_id(issued) -> str:
    return issued.cert.fingerprint(hashes.SHA256()).hex()


def test_an_enrolled_controller_syncs_over_mtls_until_revoked(fleet):
    ca = make_ca()
    fleet.admin.register_ca(ca)  # trusted by the running server without a restart
    me = fleet.admin.enroll(ca)
    answer = fleet.admin.sync(me, version=0)
    assert answer.status_code == 200
    body = answer.json()
    assert body["error"] is None and body["method"] == "cloud.access_keys_controller_sync"
    assert body["result"]["version"] == 1 and body["result"]["clients"] == {}
    fleet.admin.set_certificate_status(certificate_id(me), "REVOKED")
    answer = fleet.admin.sync(me, version=1)
    assert answer.status_code == 403
    assert answer.json()["result"] is None
    assert answer.json()["error"] == {"code": 403, "message": "certificate is REVOKED"}


def test_a_certificate_from_an_unknown_ca_fails_the_handshake(fleet):
    stranger = make_ca("stranger").issue(str(uuid.uuid4()))
    with pytest.raises(requests.exceptions.SSLError):
        fleet.admin.sync(stranger)


def test_without_a_client_certificate_the_sync_is_refused_but_admins_get_in(fleet):
    answer = fleet.admin.sync(None)
    assert answer.status_code == 403 and "client certificate" in answer.json()["error"]["message"]
    assert fleet.admin.request("GET", "/controllers").status_code == 200


def test_auto_registration_over_the_wire(fleet):
    ca = make_ca("auto")
    fleet.admin.register_ca(ca, auto_registration=True)
    me = ca.issue(str(uuid.uuid4()))
    answer = fleet.admin.sync(me)
    assert answer.status_code == 403 and "PENDING_ACTIVATION" in answer.json()["error"]["message"]
    described = fleet.admin.request("GET", f"/certificates/{certificate_id(me)}").json()
    assert described["certificateDescription"]["status"] == "PENDING_ACTIVATION"


class Receiver:
    """An HTTPS endpoint with the controller's synced certificate, recording notifications:
    (Authorization header, common name of the client certificate, body). It asks for a client
    certificate and verifies it with the bundle's chain, as the gateway does; with
    `token_only` it answers 401 to a call without a bearer token (a proxy that ends TLS)."""

    def __init__(self, port: int, current: dict, folder, token_only: bool = False):
        (folder / "server.pem").write_text(current["certificate"] + current["private"])
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(folder / "server.pem")
        if "public_parent" in current:
            context.load_verify_locations(cadata=current["public_parent"])
            context.verify_mode = ssl.CERT_OPTIONAL
        self.calls: list[tuple[str | None, str | None, dict]] = []
        calls = self.calls

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                peer = self.connection.getpeercert()
                name = dict(x[0] for x in peer["subject"])["commonName"] if peer else None
                calls.append((self.headers["Authorization"], name, body))
                refused = token_only and self.headers["Authorization"] is None
                self.send_response(401 if refused else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def fleet_peer(bundle: dict) -> tuple[str, str]:
    """(the fleet's peer UUID, its token for this controller) from a bundle."""
    ((peer, entry),) = [(k, v) for k, v in bundle["peers"].items() if v["id"] == "fleet"]
    return peer, entry["tokens"][0]


def described(fleet, controller: str) -> dict:
    return fleet.admin.request("GET", f"/controllers/{controller}").json()


def test_a_change_notifies_the_controller_with_the_fleet_certificate(fleet, tmp_path):
    ca = make_ca("notify")
    fleet.admin.register_ca(ca)
    port = free_port()
    controller = str(uuid.uuid4())
    me = fleet.admin.enroll(ca, controller, notify_url=f"https://127.0.0.1:{port}/restapi/auth/fleet/notify/")
    bundle = fleet.admin.sync(me).json()["result"]
    peer, _token = fleet_peer(bundle)
    receiver = Receiver(port, bundle["current"][0], tmp_path)
    try:
        assert fleet.admin.put_client(controller, CLIENT, [H1]).json() == {"version": 2}
        assert eventually(lambda: receiver.calls)
        authorization, name, call = receiver.calls[0]
        assert call["method"] == "hub.offline.credentials.updated" and call["api"] == "3"
        assert call["params"] == {"version": 2}
        assert (authorization, name) == (None, peer)  # the certificate, verified by the chain
        assert eventually(lambda: described(fleet, controller)["notified_version"] == 2)
    finally:
        receiver.stop()
    fleet.admin.delete_client(controller, CLIENT)  # nobody listens: logged and recorded
    assert eventually(lambda: described(fleet, controller)["notify_error"] is not None)
    receiver = Receiver(port, bundle["current"][0], tmp_path)
    try:
        fleet.admin.put_client(controller, CLIENT, [H1])
        assert eventually(lambda: [c for _, _, c in receiver.calls if c["params"]["version"] == 4])
        assert eventually(lambda: described(fleet, controller)["notify_error"] is None)
    finally:
        receiver.stop()


def enrolled(fleet, name: str) -> tuple[str, int, dict]:
    """A controller enrolled with a notify_url on a free port, synced once: (uuid, port, bundle)."""
    ca = make_ca(name)
    fleet.admin.register_ca(ca)
    port = free_port()
    controller = str(uuid.uuid4())
    me = fleet.admin.enroll(ca, controller, notify_url=f"https://127.0.0.1:{port}/notify/")
    return controller, port, fleet.admin.sync(me).json()["result"]


def test_a_controller_that_refuses_the_certificate_gets_the_peer_token(fleet, tmp_path):
    controller, port, bundle = enrolled(fleet, "token notify")
    peer, token = fleet_peer(bundle)
    receiver = Receiver(port, bundle["current"][0], tmp_path, token_only=True)
    try:
        fleet.admin.put_client(controller, CLIENT, [H1])
        assert eventually(lambda: len(receiver.calls) == 2)
        encoded = base64.urlsafe_b64encode(token.encode()).rstrip(b"=").decode()
        assert [a for a, _, _ in receiver.calls] == [None, f"Bearer {peer}.{encoded}"]
        assert eventually(lambda: described(fleet, controller)["notified_version"] == 2)
    finally:
        receiver.stop()


def test_a_notification_missed_while_offline_arrives_without_another_change(tmp_path):
    """The database is the queue: a controller that was unreachable, even across a restart of
    the fleet server, is notified of the version it has not acknowledged."""
    retry = ("--notify-retry", "0.3")
    running = start_fleet_server(tmp_path / "data", extra=retry)
    try:
        controller, port, bundle = enrolled(running, "offline")
        running.admin.put_client(controller, CLIENT, [H1])  # version 2, nobody listening
        assert eventually(lambda: described(running, controller)["notify_error"] is not None)
    finally:
        running.stop()
    running = start_fleet_server(tmp_path / "data", extra=retry)
    receiver = Receiver(port, bundle["current"][0], tmp_path)
    try:
        assert eventually(lambda: [c for _, _, c in receiver.calls if c["params"]["version"] == 2])
        assert eventually(lambda: described(running, controller)["notified_version"] == 2)
        assert described(running, controller)["notify_error"] is None
        time.sleep(1)  # acknowledged: no more rounds for it
        assert len(receiver.calls) == 1
    finally:
        receiver.stop()
        running.stop()


def test_a_notify_target_without_the_fleet_issued_certificate_gets_nothing(fleet, tmp_path):
    ca = make_ca("impostor test")
    fleet.admin.register_ca(ca)
    port = free_port()
    controller = str(uuid.uuid4())
    impostor = make_ca("impostor").issue("127.0.0.1")
    # listening before the enrolment, whose notification may go out at once
    receiver = Receiver(port, {"certificate": impostor.cert_pem, "private": impostor.key_pem}, tmp_path)
    try:
        fleet.admin.enroll(ca, controller, notify_url=f"https://127.0.0.1:{port}/notify/")
        fleet.admin.put_client(controller, CLIENT, [H1])
        assert eventually(
            lambda: (
                fleet.admin.request("GET", f"/controllers/{controller}").json()["notify_error"] is not None
            )
        )
        error = fleet.admin.request("GET", f"/controllers/{controller}").json()["notify_error"]
        assert "CERTIFICATE_VERIFY_FAILED" in error
        assert receiver.calls == []
    finally:
        receiver.stop()


def test_the_server_runs_on_postgresql(pg_cluster, tmp_path):
    running = start_fleet_server(tmp_path / "pg", database=pg_cluster.database())
    try:
        assert running.admin.request("GET", "/health").json()["database"] == "postgresql"
        ca = make_ca()
        running.admin.register_ca(ca)
        me = running.admin.enroll(ca)
        controller = me.cert.subject.rfc4514_string().removeprefix("CN=")
        running.admin.put_client(controller, CLIENT, [H1])
        result = running.admin.sync(me).json()["result"]
        assert result["clients"] == {CLIENT: [H1]} and result["version"] == 2
    finally:
        running.stop()
