from __future__ import annotations

import pytest

from tests.mqtt.broker import Broker, Subscriber


@pytest.fixture
def broker(tmp_path):
    running = Broker(tmp_path).start()
    yield running
    running.stop()


@pytest.fixture
def home_assistant(broker):
    subscriber = Subscriber(broker)
    yield subscriber
    subscriber.close()
