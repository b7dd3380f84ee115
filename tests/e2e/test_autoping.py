"""AutoPing end to end: a served gateway watches listeners, loopback and a namespace, and cycles."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from requests.auth import HTTPDigestAuth

from powerctl.store import Database
from tests.e2e.server_support import Server, free_port, start_server
from tests.support import ADMIN_PASSWORD

pytestmark = pytest.mark.e2e

SETTINGS = """
[relay]
cycle_delay = 1.0
sequence_delay = 0

[autoping]
ping_interval = 0.1
ping_timeout = 0.3
post_reboot_delay = 1.0
pings_before_enabling = 3
failures_before_reboot = 2
max_consecutive_reboot_count = 1
"""


class Listener:
    """A TCP port the test opens and closes: the device an item watches."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.open()

    def open(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        sock.settimeout(0.05)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept, args=(sock,), daemon=True)
        self._thread.start()

    def _accept(self, sock: socket.socket) -> None:
        while self._sock is sock:
            try:
                sock.accept()[0].close()
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
            self._thread.join(2)  # type: ignore[union-attr]

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"


class Gateway:
    """Admin requests to a served instance, and its audit trail read from its SQLite file."""

    def __init__(self, server: Server):
        self.server = server
        self.http = requests.Session()
        self.http.auth = HTTPDigestAuth("admin", ADMIN_PASSWORD)
        self.http.headers["X-CSRF"] = "x"

    def get(self, path: str):
        answer = self.http.get(self.server.url("/restapi/" + path), timeout=10)
        assert answer.status_code in (200, 207), answer.text
        return answer.json()

    def post(self, path: str, body) -> object:
        answer = self.http.post(self.server.url("/restapi/" + path), json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def audit(self) -> list[str]:
        db = Database(self.server.data_dir / "powerctl.db")
        try:
            return [line for _, line in db.audit_tail(10_000)]
        finally:
            db.close()

    def cycles(self, item: int) -> list[str]:
        return [line for line in self.audit() if line.endswith(f"Cycle() by autoping item {item}")]

    def wait(self, what, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = what()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what.__doc__ or what}")

    def status(self, item: int) -> str:
        return self.get(f"autoping/items/{item}/")["status"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """One gateway for the tests below: each adds its own items, on outlets of its own."""
    tmp_path = tmp_path_factory.mktemp("autoping")
    config = tmp_path / "powerctl.toml"
    config.write_text(SETTINGS)
    server = start_server(tmp_path / "data", "--config", str(config), http=True)
    try:
        yield Gateway(server)
    finally:
        server.stop()


def item(addresses: list[str], outlets: list[int], **extra) -> dict:
    return {"addresses": addresses, "outlets": outlets, **extra}


def test_a_stopped_listener_is_cycled_once_and_the_item_recovers(gateway):
    device, dead, alive = Listener(), Listener(), Listener()
    dead.close()
    try:
        one = gateway.post("autoping/items/", item([device.address], [1]))
        # DLI's group rule: one address of the two answers, so this item never fires
        group = gateway.post("autoping/items/", item([dead.address, alive.address], [3]))
        gateway.wait(lambda: gateway.status(one) == "armed")
        assert gateway.get(f"autoping/items/{one}/")["rx"] >= 3
        device.close()
        gateway.wait(lambda: gateway.get("relay/outlets/1/physical_state/") is False)
        assert gateway.status(one) == "rebooting"
        device.open()  # the device is back after its reboot
        gateway.wait(lambda: gateway.get("relay/outlets/1/physical_state/") is True)
        gateway.wait(lambda: gateway.status(one) == "armed")
        time.sleep(0.5)
        assert len(gateway.cycles(one)) == 1
        switches = gateway.get("relay/outlets/1/history/")
        assert switches[-1]["state"] == "cycle" and switches[-1]["by"] == f"autoping item {one}"
        assert switches[-1]["via"] == "autoping"
        state = gateway.get(f"autoping/items/{one}/")
        assert state["hits"] == 1 and state["status"] == "armed" and state["enabled"] is True
        pair = gateway.get(f"autoping/items/{group}/")
        assert pair["status"] == "armed" and pair["hits"] == 0 and pair["tx"] > pair["rx"] > 0
        assert gateway.cycles(group) == []
        assert gateway.get("relay/outlets/3/physical_state/") is True
        lines = gateway.audit()
        assert f"AutoPing item {one} armed after 3 answers" in lines
        assert any(
            line.startswith(f"AutoPing item {one}: {device.address} did not answer 2 checks in a row")
            for line in lines
        )
    finally:
        device.close()
        alive.close()


def test_the_limit_disables_the_item_and_says_why(gateway):
    device = Listener()
    try:
        index = gateway.post("autoping/items/", item([device.address], [2]))
        gateway.wait(lambda: gateway.status(index) == "armed")
        device.close()
        gateway.wait(lambda: gateway.status(index) == "giving up", timeout=20)
        state = gateway.get(f"autoping/items/{index}/")
        assert state["enabled"] is False and "max_consecutive_reboot_count" in state["reason"]
        assert len(gateway.cycles(index)) == 1
        assert any(
            line.startswith(f"AutoPing item {index} disabled itself: max_consecutive")
            for line in gateway.audit()
        )
    finally:
        device.close()


def test_icmp_to_loopback_arms(gateway):
    index = gateway.post("autoping/items/", item(["127.0.0.1"], [4]))
    gateway.wait(lambda: gateway.status(index) == "armed")
    assert gateway.cycles(index) == []


def test_a_restart_never_cycles_by_itself(tmp_path):
    config = tmp_path / "powerctl.toml"
    config.write_text(SETTINGS)
    device = Listener()
    server = start_server(tmp_path / "data", "--config", str(config), http=True)
    try:
        gateway = Gateway(server)
        assert gateway.post("autoping/items/", item([device.address], [5])) == 0
        gateway.wait(lambda: gateway.status(0) == "armed")
        server.stop()
        device.close()  # the device is down while the gateway restarts (both lost power)
        server = start_server(tmp_path / "data", "--config", str(config), http=True)
        gateway = Gateway(server)
        sent = gateway.get("autoping/items/0/")["tx"]
        gateway.wait(lambda: gateway.get("autoping/items/0/")["tx"] >= sent + 6)
        assert gateway.status(0) == "waiting"
        assert gateway.cycles(0) == []
        assert gateway.get("relay/outlets/5/physical_state/") is True
    finally:
        server.stop()
        device.close()


NAMESPACE_SKIP = "dead ICMP needs a network namespace: run as root with iproute2 (ip netns, veth)"


@pytest.fixture
def namespace_host():
    """An address answering ICMP from a network namespace; the test kills it by removing it."""
    if (
        shutil.which("ip") is None
        or subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() != "0"
    ):
        pytest.skip(NAMESPACE_SKIP)
    name = f"apt{free_port()}"
    subnet = 10 + int(name[3:]) % 200
    host, peer = f"10.{subnet}.77.1", f"10.{subnet}.77.2"
    commands = [
        ["ip", "netns", "add", name],
        ["ip", "link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b"],
        ["ip", "link", "set", f"{name}b", "netns", name],
        ["ip", "addr", "add", f"{host}/30", "dev", f"{name}a"],
        ["ip", "link", "set", f"{name}a", "up"],
        ["ip", "-n", name, "addr", "add", f"{peer}/30", "dev", f"{name}b"],
        ["ip", "-n", name, "link", "set", f"{name}b", "up"],
        ["ip", "-n", name, "link", "set", "lo", "up"],
    ]
    try:
        for command in commands:
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"{NAMESPACE_SKIP} ({' '.join(command)}: {done.stderr.strip()})")
        yield name, peer, lambda: subprocess.run(["ip", "netns", "del", name], capture_output=True)
    finally:
        subprocess.run(["ip", "link", "del", f"{name}a"], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


UNPRIVILEGED = """
import asyncio, sys
from powerctl.autoping import checks
from powerctl.autoping.addresses import parse_address
alive = asyncio.run(checks.answered(parse_address(sys.argv[1]), 2.0))
print(checks.unprivileged_icmp(), alive)
"""


def test_icmp_is_unprivileged_where_ping_group_range_allows(namespace_host):
    """The range is the namespace's own: opened there, the check takes an ICMP datagram socket."""
    name, address, _remove = namespace_host
    inside = ["ip", "netns", "exec", name]
    subprocess.run([*inside, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"], check=True)
    done = subprocess.run(
        [*inside, sys.executable, "-c", UNPRIVILEGED, address], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == ["True", "True"], done.stderr


def test_icmp_to_a_host_that_goes_away_cycles(gateway, namespace_host):
    _name, address, remove = namespace_host
    index = gateway.post("autoping/items/", item([address], [6]))
    gateway.wait(lambda: gateway.status(index) == "armed")
    remove()
    gateway.wait(lambda: gateway.cycles(index))
    assert gateway.get(f"autoping/items/{index}/")["hits"] == 1
