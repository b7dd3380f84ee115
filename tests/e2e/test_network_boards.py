"""`powerctl serve` over an SNMP PDU (snmpsim) and a Modbus module (pymodbus): HTTPS end to end."""

from __future__ import annotations

import requests
from requests.auth import HTTPDigestAuth

from hw.drivers.modbus_emulator import ModbusEmulator
from hw.drivers.snmp_emulator import SnmpAgent
from tests.e2e.conftest import start_server
from tests.support import ADMIN_PASSWORD, wait_for

APC_COMMAND = "1.3.6.1.4.1.318.1.1.12.3.3.1.1.4"


def test_serve_switches_both_backends_and_rides_out_a_pdu_outage(tmp_path):
    with SnmpAgent("raritan-pdu2") as pdu, ModbusEmulator(4) as module:
        config = tmp_path / "powerctl.toml"
        config.write_text(
            "[hardware]\npoll_interval = 0.2\n"
            f'[[hardware.boards]]\nname = "pdu"\ndriver = "snmp"\nhost = "127.0.0.1"\nport = {pdu.port}\n'
            'profile = "raritan-pdu2"\nrelays = 8\ntimeout = 2.0\n'
            f'[[hardware.boards]]\nname = "io"\ndriver = "modbus"\nhost = "127.0.0.1"\nport = {module.port}\n'
            "relays = 4\ntimeout = 2.0\n"
        )
        config.chmod(0o600)
        server = start_server(tmp_path / "data", "--config", str(config))
        session = requests.Session()
        session.auth = HTTPDigestAuth("admin", ADMIN_PASSWORD)
        session.headers["X-CSRF"] = "x"

        def put(outlet: int, on: bool) -> int:
            url = server.url(f"/restapi/relay/outlets/{outlet}/state/")
            return session.put(
                url, data={"value": str(on).lower()}, verify=server.cert, timeout=10
            ).status_code

        def online() -> bool:
            answer = session.get(server.url("/restapi/relay/online/"), verify=server.cert, timeout=10)
            return answer.json() is True

        try:
            # a board whose first reply came late on a loaded machine starts offline until the poll
            assert wait_for(online, 15)
            assert module.coils == [True] * 4  # configured states (initially on) applied at start
            assert put(5, False) == 204
            assert pdu.cells()["1.3.6.1.4.1.13742.6.4.1.2.1.2.1.6"] == 0  # switchingOperation off
            assert put(9, False) == 204
            assert module.coils == [True, False, True, True]
            pdu.stop()
            assert wait_for(lambda: put(6, False) == 503, 10)
            assert put(10, False) == 204  # the Modbus outlets keep switching
            pdu.start()
            assert wait_for(lambda: put(6, False) == 204, 15)
            url = server.url("/restapi/relay/outlets/all;/physical_state/")
            states = session.get(url, verify=server.cert, timeout=10).json()
            assert states == [True] * 5 + [False, False, True] + [True, False, False, True]
        finally:
            server.stop()
