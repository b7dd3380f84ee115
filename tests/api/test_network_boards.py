"""The gateway over a mixed rack: an SNMP PDU (snmpsim), a Modbus module (pymodbus) and a sim board.

Outlets 0-7 are the PDU's, 8-11 the Modbus module's coils, 12-13 the sim board's. Stopping one
backend makes only its outlets answer 503; starting it again brings them back with their states.
"""

from __future__ import annotations

import time

import pytest

from hw.drivers.modbus_emulator import ModbusEmulator
from hw.drivers.snmp_emulator import SnmpAgent
from tests.support import Api, wait_for

FORM = {"content_type": "application/x-www-form-urlencoded"}
COMMUNITY = "rack-7-private"  # a secret: it must never show in an answer
APC_COMMAND = "1.3.6.1.4.1.318.1.1.12.3.3.1.1.4"
TIMEOUT = 1.5


@pytest.fixture
def pdu():
    with SnmpAgent("apc-rpdu", community=COMMUNITY) as agent:
        yield agent


@pytest.fixture
def coils():
    with ModbusEmulator(4) as module:
        yield module


@pytest.fixture
def admin(pdu, coils, make_app):
    app = make_app(
        hardware={
            "poll_interval": 0.1,
            "boards": [
                {
                    "name": "pdu",
                    "driver": "snmp",
                    "host": "127.0.0.1",
                    "port": pdu.port,
                    "profile": "apc-rpdu",
                    "community": COMMUNITY,
                    "relays": 8,
                    "timeout": TIMEOUT,
                },
                {
                    "name": "io",
                    "driver": "modbus",
                    "host": "127.0.0.1",
                    "port": coils.port,
                    "relays": 4,
                    "timeout": TIMEOUT,
                },
                {"name": "side", "driver": "sim", "relays": 2},
            ],
        }
    )
    api = Api(app.test_client())
    # On a loaded machine the first reply can miss its 0.5 s attempt and the board starts
    # offline; the poll brings it back, and each test starts from a rack that answers.
    assert wait_for(lambda: api.get("/restapi/relay/online/").json is True, 15)
    return api


def put_state(admin: Api, outlet: int | str, on: bool):
    return admin.put(f"/restapi/relay/outlets/{outlet}/state/", data=f"value={str(on).lower()}", **FORM)


def pdu_outlet(pdu: SnmpAgent, outlet: int) -> int | None:
    """What the agent holds for outlet (0-based): 1 on, 2 off."""
    return pdu.cells().get(f"{APC_COMMAND}.{outlet + 1}")


def test_configured_states_reach_every_backend_at_start(pdu, coils, admin):
    # outlets start on (initial_state), so every PDU outlet got a SET and every coil is on
    assert [pdu_outlet(pdu, i) for i in range(8)] == [1] * 8
    assert coils.coils == [True] * 4
    assert admin.get("/restapi/relay/outlets/all;/physical_state/").json == [True] * 14


def test_put_state_switches_the_pdu_outlet_and_the_coil(pdu, coils, admin):
    assert put_state(admin, 3, False).status_code == 204
    assert pdu_outlet(pdu, 3) == 2
    assert admin.get("/restapi/relay/outlets/3/physical_state/").json is False
    assert put_state(admin, 9, False).status_code == 204
    assert coils.coils == [True, False, True, True]
    assert admin.get("/restapi/relay/outlets/9/physical_state/").json is False
    assert admin.get("/restapi/relay/outlets/3/state/").json is False


def test_stopping_one_backend_makes_only_its_outlets_503_until_it_returns(pdu, coils, admin):
    pdu.stop()
    started = time.monotonic()
    refused = put_state(admin, 2, False)
    assert refused.status_code == 503
    assert time.monotonic() - started < 2 * TIMEOUT + 1
    assert 'board "pdu"' in refused.json["message"]
    assert COMMUNITY not in refused.get_data(as_text=True)
    assert put_state(admin, 9, False).status_code == 204  # Modbus keeps switching
    assert put_state(admin, 12, False).status_code == 204  # and the sim board
    assert wait_for(lambda: put_state(admin, 2, False).status_code == 503, 3)
    assert put_state(admin, "=5,10", False).status_code == 503  # no partial write
    assert admin.get("/restapi/relay/outlets/10/state/").json is True

    coils.stop()
    assert wait_for(lambda: put_state(admin, 10, False).status_code == 503, 3 * TIMEOUT)
    assert put_state(admin, 13, False).status_code == 204

    pdu.start()
    coils.start()
    assert wait_for(lambda: put_state(admin, 2, False).status_code == 204, 10)
    assert wait_for(lambda: put_state(admin, 10, False).status_code == 204, 5)
    assert pdu_outlet(pdu, 2) == 2
    assert coils.coils == [True, False, False, True]
    assert admin.get("/restapi/relay/outlets/all;/physical_state/").json == [
        *[True, True, False, True, True, True, True, True],
        *[True, False, False, True],
        False,
        False,
    ]


def test_the_pdu_meters_are_served_with_units(admin):
    assert wait_for(lambda: admin.get("/restapi/meter/values/pdu.0.power/value/").json == 276.0)
    current = admin.get("/restapi/meter/values/pdu.0.current/").json
    assert current == {
        "name": "PDU 0 load current",
        "value": 1.2,
        "unit": "A",
        "bus": None,
        "quantity": "current",
    }


def test_the_community_never_shows_in_an_answer(admin):
    for path in ("/restapi/", "/restapi/relay/", "/restapi/meter/values/"):
        response = admin.get(path)
        assert COMMUNITY not in response.get_data(as_text=True)
