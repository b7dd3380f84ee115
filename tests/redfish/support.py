"""Shared pieces of the Redfish tests: the DMTF schema files and the outlet collection's URI."""

from __future__ import annotations

from pathlib import Path

CSDL = Path(__file__).resolve().parents[3] / "shared" / "reference" / "redfish" / "csdl"
OUTLET = "/redfish/v1/PowerEquipment/RackPDUs/1/Outlets/"
