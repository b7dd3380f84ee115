"""A real MQTT broker (Debian's mosquitto) on a free loopback port, and a Home Assistant-shaped subscriber."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from tests.e2e.server_support import free_port
from tests.support import wait_for

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Broker:
    def __init__(self, folder: Path, port: int | None = None):
        self.folder = folder
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> Broker:
        conf = self.folder / f"mosquitto-{self.port}.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n"
        )
        log = open(self.folder / f"mosquitto-{self.port}.log", "ab")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        assert wait_for(self._listening, timeout=20), (self.folder / f"mosquitto-{self.port}.log").read_text()
        return self

    def _listening(self) -> bool:
        import socket

        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


class Subscriber:
    """Keeps the last message of every topic it sees, as Home Assistant's MQTT integration would."""

    def __init__(self, broker: Broker, topics: tuple[str, ...] = ("#",)):
        self.messages: dict[str, bytes] = {}
        self.history: list[tuple[float, str, bytes]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ha-{time.monotonic_ns()}")
        self.client.on_message = self._message
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect("127.0.0.1", broker.port, 30)
        self.client.loop_start()

    def _message(self, _client, _userdata, message) -> None:
        with self._lock:
            self.messages[message.topic] = message.payload
            self.history.append((time.monotonic(), message.topic, message.payload))

    def get(self, topic: str) -> bytes | None:
        with self._lock:
            return self.messages.get(topic)

    def json(self, topic: str) -> dict | None:
        payload = self.get(topic)
        return json.loads(payload) if payload else None

    def wait(self, topic: str, payload: bytes | None = None, timeout: float = 5.0) -> bool:
        return wait_for(
            lambda: self.get(topic) is not None and (payload is None or self.get(topic) == payload), timeout
        )

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
