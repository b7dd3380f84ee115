"""What the SNMP driver knows about each PDU family: a small table of OIDs and values per profile.

Outlet n (1-based, as the MIBs count) is the column OID followed by `.n`. OIDs are written without
the leading dot, as pysnmp prints them.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class SnmpMeter:
    """One meter read with a GET: value = raw x scale / 10^digits, digits read from digits_oid if set."""

    key: str  # the meter id is pdu.<k>.<key>
    name: str
    oid: str
    unit: str
    quantity: str
    scale: float = 1.0
    digits_oid: str | None = None


@dataclass(frozen=True)
class Profile:
    """How one PDU family switches, reports and names its outlets."""

    name: str
    summary: str
    command: str  # column written to switch: <command>.<n>
    on: int
    off: int
    state: str  # column read for the outlet's state (may be the command column)
    reads_on: int
    reads_off: int
    names: str  # column of outlet names
    meters: tuple[SnmpMeter, ...] = ()

    def command_oid(self, outlet: int) -> str:
        return f"{self.command}.{outlet + 1}"

    def state_oid(self, outlet: int) -> str:
        return f"{self.state}.{outlet + 1}"

    def name_oid(self, outlet: int) -> str:
        return f"{self.names}.{outlet + 1}"


APC = "1.3.6.1.4.1.318.1.1"
RARITAN = "1.3.6.1.4.1.13742.6"
# PDU2-MIB sensor types, the last index of its measurement and configuration tables
RMS_CURRENT, RMS_VOLTAGE, ACTIVE_POWER, ACTIVE_ENERGY = 1, 4, 5, 8
JOULES_PER_WATT_HOUR = 3600.0


def _raritan_inlet(
    key: str, name: str, sensor: int, unit: str, quantity: str, scale: float = 1.0
) -> SnmpMeter:
    """An inlet sensor of PDU 1, inlet 1: measurementsInletSensorValue, inletSensorDecimalDigits."""
    return SnmpMeter(
        key,
        name,
        f"{RARITAN}.5.2.3.1.4.1.1.{sensor}",
        unit,
        quantity,
        scale,
        digits_oid=f"{RARITAN}.3.3.4.1.7.1.1.{sensor}",
    )


PROFILES = {
    profile.name: profile
    for profile in (
        # PowerNet-MIB rPDU (AP78xx, AP79xx, AP89xx): rPDUOutletControlOutletCommand answers the state.
        Profile(
            "apc-rpdu",
            "APC switched rack PDUs (PowerNet-MIB rPDUOutletControl)",
            command=f"{APC}.12.3.3.1.1.4",
            on=1,  # immediateOn; 2 immediateOff, 3 immediateReboot
            off=2,
            state=f"{APC}.12.3.3.1.1.4",
            reads_on=1,
            reads_off=2,
            names=f"{APC}.12.3.3.1.1.2",  # rPDUOutletControlOutletName
            meters=(
                # rPDULoadStatusLoad.1: the first phase or bank, in tenths of amps
                SnmpMeter("current", "Load current", f"{APC}.12.2.3.1.1.2.1", "A", "current", 0.1),
                # rPDUIdentDevicePowerWatts.0
                SnmpMeter("power", "Power", f"{APC}.12.1.16.0", "W", "power"),
            ),
        ),
        # PowerNet-MIB sPDU (MasterSwitch AP92xx, AP96xx): sPDUOutletCtl, no meters in the MIB.
        Profile(
            "apc-spdu",
            "APC MasterSwitch PDUs (PowerNet-MIB sPDUOutletCtl)",
            command=f"{APC}.4.4.2.1.3",
            on=1,  # outletOn; 2 outletOff, 3 outletReboot
            off=2,
            state=f"{APC}.4.4.2.1.3",
            reads_on=1,
            reads_off=2,
            names=f"{APC}.4.4.2.1.4",  # sPDUOutletCtlName
        ),
        # PDU2-MIB (Raritan PX2, PX3) of PDU 1: switchingOperation, read back from switchingState.
        Profile(
            "raritan-pdu2",
            "Raritan PX2/PX3 PDUs (PDU2-MIB outletSwitchControlTable), PDU 1 of a chain",
            command=f"{RARITAN}.4.1.2.1.2.1",
            on=1,  # on; 0 off, 2 cycle
            off=0,
            state=f"{RARITAN}.4.1.2.1.3.1",
            reads_on=7,  # sensorStateEnumeration on(7), off(8)
            reads_off=8,
            names=f"{RARITAN}.3.5.3.1.3.1",  # outletName
            meters=(
                _raritan_inlet("current", "Inlet current", RMS_CURRENT, "A", "current"),
                _raritan_inlet("voltage", "Inlet voltage", RMS_VOLTAGE, "V", "voltage"),
                _raritan_inlet("power", "Inlet power", ACTIVE_POWER, "W", "power"),
                _raritan_inlet(
                    "total_energy", "Inlet energy", ACTIVE_ENERGY, "J", "energy", JOULES_PER_WATT_HOUR
                ),
            ),
        ),
    )
}
