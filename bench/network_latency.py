"""Time from an HTTP PUT .../state/ to its command reaching an SNMP agent or a Modbus module.

Each is compared with one raw round trip of the same transport in the same run: an SNMP GET
through pysnmp to the same snmpsim agent, a Modbus read coils through pymodbus to the same
module. The gateway is a real server process with both boards; the agent stamps each SET's
arrival (time.time(), snmpsim being another process) when snmpsim hands it to the data file's
variation module, part way through its own handling, so the SNMP figure stops short of a
whole agent turn while the raw GET includes one: a ratio below 1 is possible. The Modbus
emulator stamps each request as pymodbus's server hands it to the device.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path

from common import HELLO_HASH, ROOT, register, start_gateway, stop

sys.path.insert(0, str(ROOT))
from hw.drivers.modbus_emulator import ModbusEmulator
from hw.drivers.snmp_emulator import SnmpAgent

APC_COMMAND = "1.3.6.1.4.1.318.1.1.12.3.3.1.1.4"


def snmp_round_trips(port: int, count: int) -> list[float]:
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        get_cmd,
    )

    async def run() -> list[float]:
        engine = SnmpEngine()
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=2, retries=0)
        oid = ObjectType(ObjectIdentity(f"{APC_COMMAND}.1"))
        times = []
        for _ in range(count + 1):  # the first one loads MIBs: not counted
            start = time.monotonic()
            indication, status, _, _ = await get_cmd(
                engine, CommunityData("public"), target, ContextData(), oid
            )
            if indication or status:
                raise RuntimeError(f"raw GET failed: {indication or status}")
            times.append(time.monotonic() - start)
        engine.close_dispatcher()
        return times[1:]

    return asyncio.run(run())


def modbus_round_trips(port: int, count: int) -> list[float]:
    from pymodbus.client import ModbusTcpClient

    client = ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
    client.connect()
    times = []
    try:
        for _ in range(count):
            start = time.monotonic()
            if client.read_coils(0, count=8, device_id=1).isError():
                raise RuntimeError("raw read coils failed")
            times.append(time.monotonic() - start)
    finally:
        client.close()
    return times


def put(conn: HTTPConnection, outlet: int, on: bool) -> float:
    """PUT the state; how long the whole request took (command, read-back and answer)."""
    headers = {
        "Authorization": "Bearer bench.SGVsbG8",
        "X-CSRF": "x",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    body = f"value={'true' if on else 'false'}"
    start = time.monotonic()
    conn.request("PUT", f"/restapi/relay/outlets/{outlet}/state/", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    if response.status != 204:
        raise RuntimeError(f"PUT answered {response.status}")
    return time.monotonic() - start


def main(count: int = 100) -> dict:
    with SnmpAgent("apc-rpdu") as pdu, ModbusEmulator(8) as module, tempfile.TemporaryDirectory() as data:
        config = Path(data) / "powerctl.toml"
        config.write_text(
            "[[hardware.boards]]\n"
            f'driver = "snmp"\nhost = "127.0.0.1"\nport = {pdu.port}\nprofile = "apc-rpdu"\nrelays = 8\n'
            "[[hardware.boards]]\n"
            f'driver = "modbus"\nhost = "127.0.0.1"\nport = {module.port}\nrelays = 8\n'
        )
        gateway, base = start_gateway(str(Path(data) / "var"), ["--config", str(config)])
        try:
            register(base, "bench", {"/relay/outlets/all;/state/?access=modify": True}, {HELLO_HASH: {}})
            conn = HTTPConnection(base.removeprefix("http://"))
            to_agent, to_module, whole_snmp, whole_modbus = [], [], [], []
            for i in range(count):
                on = i % 2 == 1  # outlets start on
                seen = len(pdu.sets())
                start = time.time()
                whole_snmp.append(put(conn, 3, on))
                at, oid, _ = pdu.sets()[seen]
                assert oid == f"{APC_COMMAND}.4"
                to_agent.append(at - start)
                seen = len(module.requests)
                start = time.monotonic()
                whole_modbus.append(put(conn, 8 + 3, on))
                writes = [j for j in range(seen, len(module.requests)) if module.requests[j][0] == 5]
                to_module.append(module.arrivals[writes[0]] - start)
            conn.close()
        finally:
            stop(gateway)
        raw_snmp = snmp_round_trips(pdu.port, count)
        raw_modbus = modbus_round_trips(module.port, count)
    result = {
        "snmp_put_to_agent_ms": statistics.median(to_agent) * 1000,
        "snmp_put_total_ms": statistics.median(whole_snmp) * 1000,
        "snmp_raw_get_ms": statistics.median(raw_snmp) * 1000,
        "modbus_put_to_module_ms": statistics.median(to_module) * 1000,
        "modbus_put_total_ms": statistics.median(whole_modbus) * 1000,
        "modbus_raw_read_ms": statistics.median(raw_modbus) * 1000,
    }
    result["snmp_ratio"] = result["snmp_put_to_agent_ms"] / result["snmp_raw_get_ms"]
    result["modbus_ratio"] = result["modbus_put_to_module_ms"] / result["modbus_raw_read_ms"]
    print(f"HTTP PUT .../state/ to the command at the backend, {count} switches each (medians)")
    print(f"  SNMP:   PUT -> SET at agent   {result['snmp_put_to_agent_ms']:7.3f} ms")
    print(f"          whole PUT             {result['snmp_put_total_ms']:7.3f} ms")
    print(f"          raw GET round trip    {result['snmp_raw_get_ms']:7.3f} ms")
    print(f"          ratio                 {result['snmp_ratio']:.2f}")
    print(f"  Modbus: PUT -> write at module {result['modbus_put_to_module_ms']:7.3f} ms")
    print(f"          whole PUT             {result['modbus_put_total_ms']:7.3f} ms")
    print(f"          raw read coils        {result['modbus_raw_read_ms']:7.3f} ms")
    print(f"          ratio                 {result['modbus_ratio']:.2f}")
    return result


if __name__ == "__main__":
    main()
