"""The MQTT bridge: outlet states and meters out, ON/OFF commands in, as one registered client.

Runs beside the web server in its own threads: paho's network loop (reconnecting with backoff),
a watcher that publishes every change of an outlet's physical state whoever made it (REST, a
script, a cycle, a board coming back), and one worker that carries out commands in order. A
broker that is down or slow never holds up a REST request: nothing here runs on a request.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable

import hw
from powerctl import access
from powerctl.audit import Audit
from powerctl.auth.principal import Principal
from powerctl.domain import PowerctlError
from powerctl.mqtt import discovery
from powerctl.mqtt.discovery import Device
from powerctl.relay import Actor, Relay
from scopes import Access

log = logging.getLogger("powerctl.mqtt")
WATCH_INTERVAL = 0.2  # s between looks at the outlets' states
CLOSE_WAIT = 2.0  # s that closing waits for the broker to acknowledge "offline"


class Bridge:
    def __init__(
        self,
        settings: dict,
        device: Device,
        relay: Relay,
        read_meters: Callable[[], dict],
        principal: Callable[[], Principal | None],
        audit: Audit,
        remembered: Callable[[list[str] | None], list[str]],
    ):
        import paho.mqtt.client as mqtt

        self._mqtt = mqtt
        self.device = device
        self._settings = settings
        self._relay = relay
        self._read_meters = read_meters
        self._principal = principal
        self._audit = audit
        self._remembered = remembered  # the discovery topics published last time (get/set)
        self._commands: queue.SimpleQueue[tuple[int, str] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._published: dict[int, str | None] = {}
        self._lock = threading.Lock()
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"powerctl-{device.node_id}", protocol=mqtt.MQTTv311
        )
        if settings["username"]:
            client.username_pw_set(settings["username"], settings["password"])
        if settings["scheme"] == "mqtts":
            client.tls_set(
                ca_certs=settings["ca_file"], certfile=settings["cert_file"], keyfile=settings["key_file"]
            )
        client.will_set(device.status_topic, "offline", qos=1, retain=True)
        client.reconnect_delay_set(1, 30)
        client.max_queued_messages_set(1000)  # bounded while the broker is away
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        self._threads = [
            threading.Thread(target=self._watch, name="mqtt-watch", daemon=True),
            threading.Thread(target=self._work, name="mqtt-commands", daemon=True),
        ]

    # lifecycle
    def start(self) -> None:
        self._client.connect_async(
            self._settings["host"], self._settings["port"], self._settings["keepalive"]
        )
        self._client.loop_start()
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Say "offline", disconnect and stop the bridge's threads. A second call does nothing."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._commands.put(None)
        if self._connected.is_set():
            info = self._client.publish(self.device.status_topic, "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=CLOSE_WAIT)
                reason = None if info.is_published() else f"no acknowledgement within {CLOSE_WAIT} s"
            except (RuntimeError, ValueError) as err:
                reason = str(err)
            if reason is not None:
                # The broker went away (or stopped answering) before paho told us. Closing goes
                # on: nothing more can be sent (docs/mqtt.md says what the status then shows).
                log.warning("MQTT: offline status not sent on close: %s", reason)
        self._client.disconnect()
        self._client.loop_stop()
        for thread in self._threads:
            thread.join(timeout=5)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # paho callbacks, on its network thread
    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT broker refused the connection: %s", reason_code)
            return
        log.info("connected to the MQTT broker at %s:%s", self._settings["host"], self._settings["port"])
        base = self.device.base
        client.subscribe([(f"{base}/outlet/+/set", 1), (f"{self.device.discovery_prefix}/status", 1)])
        self._connected.set()
        self.announce()
        client.publish(self.device.status_topic, "online", qos=1, retain=True)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("lost the MQTT broker (%s); reconnecting", reason_code)

    def _on_message(self, _client, _userdata, message) -> None:
        topic = message.topic
        if topic == f"{self.device.discovery_prefix}/status":
            if message.payload == b"online":  # Home Assistant restarted: tell it again
                self.announce()
            return
        parts = topic[len(self.device.base) + 1 :].split("/")
        if len(parts) == 3 and parts[0] == "outlet" and parts[2] == "set" and parts[1].isdigit():
            self._commands.put((int(parts[1]), message.payload.decode("utf-8", "replace").strip()))

    # publishing
    def announce(self) -> None:
        """Publish discovery and every state, and clear what an older config announced."""
        topics = []
        for index in range(self._relay.count):
            topic, payload = discovery.switch_config(self.device, index, self._relay.outlet(index).name)
            self._publish(topic, json.dumps(payload), retain=True)
            topics.append(topic)
        for meter_id, reading in self._read_meters().items():
            topic, payload = discovery.sensor_config(self.device, meter_id, reading.name, reading.unit)
            self._publish(topic, json.dumps(payload), retain=True)
            topics.append(topic)
        for stale in set(self._remembered(None)) - set(topics):
            self._publish(stale, "", retain=True)  # an empty retained message removes the entity
        self._remembered(topics)
        with self._lock:
            self._published.clear()
        self._publish_states()
        self._publish_meters()

    def _publish(self, topic: str, payload: str, retain: bool) -> None:
        self._client.publish(topic, payload, qos=1, retain=retain)

    def _publish_states(self, only: int | None = None) -> None:
        states = self._relay.physicals(list(range(self._relay.count)))
        for index, state in enumerate(states):
            online = state is not None and self._relay.board_online(index)
            text = None if not online else ("ON" if state else "OFF")
            with self._lock:
                if only is None and self._published.get(index, "unset") == text:
                    continue
                self._published[index] = text
            topics = discovery.outlet_topics(self.device, index)
            self._publish(topics["availability"], "offline" if text is None else "online", retain=True)
            if text is not None:
                self._publish(topics["state"], text, retain=True)

    def _publish_meters(self) -> None:
        for meter_id, reading in self._read_meters().items():
            if reading.value is not None:
                value = discovery.sensor_value(reading.unit, reading.value)
                self._publish(discovery.meter_state_topic(self.device, meter_id), str(value), retain=True)

    def _watch(self) -> None:
        meter_every = max(1, round(self._settings["meter_interval"] / WATCH_INTERVAL))
        ticks = 0
        while not self._stop.wait(WATCH_INTERVAL):
            if not self._connected.is_set():
                continue
            try:
                self._publish_states()
                ticks += 1
                if ticks % meter_every == 0:
                    self._publish_meters()
            except Exception:  # the watcher must outlive any one bad reading
                log.exception("could not publish outlet states")

    # commands, on the worker thread
    def _work(self) -> None:
        while True:
            item = self._commands.get()
            if item is None:
                return
            try:
                self._command(*item)
            except Exception:  # one bad command must not stop the worker
                log.exception("MQTT command on outlet %s failed", item[0])

    def _command(self, index: int, payload: str) -> None:
        if index >= self._relay.count:
            log.warning("MQTT command for outlet %d, which does not exist", index)
            return
        if payload == "":
            self._publish_states(only=index)  # an empty command asks for the state
            return
        word = payload.upper()
        if word not in ("ON", "OFF"):
            log.warning("MQTT command %r on outlet %d is neither ON nor OFF; ignored", payload[:20], index)
            return
        principal = self._principal()
        if principal is None:
            self._audit.record(
                f"MQTT command {word} on outlet {index} refused: the client {self._settings['client']!r}"
                " is not registered or is denied"
            )
            return
        leaf = ("relay", "outlets", str(index), "state")
        if access.check(principal, [leaf], Access.MODIFY, self._relay.attrs, self._audit) is not None:
            return
        try:
            self._relay.set_state([index], word == "ON", Actor.of(principal, "mqtt"))
        except (PowerctlError, hw.HardwareError) as err:  # locked, offline: in the trail, state republished
            self._audit.record(f"MQTT command {word} on outlet {index} for {principal.actor()} failed: {err}")
            self._publish_states(only=index)
