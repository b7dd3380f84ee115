"""The Redfish documents that need no authentication (DSP0266 section 13.3.1) and PowerEquipment."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from powerctl.redfish.wire import collection, link, odata

ROOT = "/redfish/v1/"
EQUIPMENT = "/redfish/v1/PowerEquipment"
RACK_PDUS = f"{EQUIPMENT}/RackPDUs"
PDU = f"{RACK_PDUS}/1"
SESSION_SERVICE = "/redfish/v1/SessionService"
SESSIONS = f"{SESSION_SERVICE}/Sessions"
REDFISH_VERSION = "1.15.0"

# Every schema a document of this service names, with the version it is written against:
# $metadata references exactly these (and RedfishExtensions for the Redfish alias).
SCHEMAS = {
    "ServiceRoot": "v1_20_0",
    "PowerEquipment": "v1_2_3",
    "PowerDistribution": "v1_6_0",
    "PowerDistributionCollection": None,
    "Outlet": "v1_4_4",
    "OutletCollection": None,
    "SessionService": "v1_2_0",
    "Session": "v1_8_0",
    "SessionCollection": None,
    "Message": "v1_3_0",
    "Resource": "v1_23_0",
    "Circuit": None,  # Circuit.PowerState, the PowerControl action's parameter
}


_CONTAINER = f"ServiceRoot.{SCHEMAS['ServiceRoot']}.ServiceContainer"


def metadata() -> str:
    references = []
    for name, version in SCHEMAS.items():
        includes = [f'    <edmx:Include Namespace="{name}"/>']
        if version:
            includes.append(f'    <edmx:Include Namespace="{name}.{version}"/>')
        references.append(
            f'  <edmx:Reference Uri="http://redfish.dmtf.org/schemas/v1/{name}_v1.xml">\n'
            + "\n".join(includes)
            + "\n  </edmx:Reference>"
        )
    references.append(
        '  <edmx:Reference Uri="http://redfish.dmtf.org/schemas/v1/RedfishExtensions_v1.xml">\n'
        '    <edmx:Include Namespace="RedfishExtensions.v1_0_0" Alias="Redfish"/>\n'
        "  </edmx:Reference>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">\n'
        + "\n".join(references)
        + "\n  <edmx:DataServices>\n"
        '    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">\n'
        f'      <EntityContainer Name="Service" Extends={quoteattr(_CONTAINER)}/>\n'
        "    </Schema>\n"
        "  </edmx:DataServices>\n"
        "</edmx:Edmx>\n"
    )


def service_root(uuid: str, product: str) -> dict:
    return odata(
        ROOT,
        f"#ServiceRoot.{SCHEMAS['ServiceRoot']}.ServiceRoot",
        Id="RootService",
        Name="Root Service",
        RedfishVersion=REDFISH_VERSION,
        UUID=uuid,
        Product=product,
        PowerEquipment=link(EQUIPMENT),
        SessionService=link(SESSION_SERVICE),
        Links={"Sessions": link(SESSIONS)},
    )


def odata_service() -> dict:
    """The OData service document (DSP0266 section 8.3.2)."""
    entries = [
        ("Service", ROOT),
        ("PowerEquipment", EQUIPMENT),
        ("SessionService", SESSION_SERVICE),
        ("Sessions", SESSIONS),
    ]
    return {
        "@odata.context": "/redfish/v1/$metadata",
        "value": [{"name": name, "kind": "Singleton", "url": url} for name, url in entries],
    }


def power_equipment() -> dict:
    return odata(
        EQUIPMENT,
        f"#PowerEquipment.{SCHEMAS['PowerEquipment']}.PowerEquipment",
        Id="PowerEquipment",
        Name="Power Equipment",
        Status={"State": "Enabled", "Health": "OK"},
        RackPDUs=link(RACK_PDUS),
    )


def rack_pdus() -> dict:
    return collection(RACK_PDUS, "PowerDistributionCollection", "Rack PDUs", [PDU])


def rack_pdu(name: str, identity: dict, health: str) -> dict:
    return odata(
        PDU,
        f"#PowerDistribution.{SCHEMAS['PowerDistribution']}.PowerDistribution",
        Id="1",
        Name=name,
        EquipmentType="RackPDU",
        Manufacturer=identity["manufacturer"],
        Model=identity["model"],
        SerialNumber=identity["serial"],
        FirmwareVersion=identity["firmware"],
        UUID=identity["uuid"],
        Status={"State": "Enabled", "Health": health},
        Outlets=link(f"{PDU}/Outlets"),
    )
