"""The built-in board drivers, one module each; hw.registry finds these and the plugins."""

from importlib.metadata import EntryPoint

GROUP = "powerctl.boards"  # the entry-point group a third-party driver registers in
DEFAULT = "sim"  # the driver of a board whose table has no `driver` key

BUILTIN = (
    EntryPoint("sim", "hw.drivers.sim:DRIVER", GROUP),
    EntryPoint("numato", "hw.drivers.numato:DRIVER", GROUP),
    EntryPoint("snmp", "hw.drivers.snmp:DRIVER", GROUP),
    EntryPoint("modbus", "hw.drivers.modbus:DRIVER", GROUP),
    EntryPoint("dli", "hw.drivers.dli:DRIVER", GROUP),
    EntryPoint("shelly", "hw.drivers.shelly:DRIVER", GROUP),
    EntryPoint("tasmota", "hw.drivers.tasmota:DRIVER", GROUP),
    EntryPoint("kmtronic", "hw.drivers.kmtronic:DRIVER", GROUP),
    EntryPoint("lcus", "hw.drivers.lcus:DRIVER", GROUP),
    EntryPoint("hidrelay", "hw.drivers.hidrelay:DRIVER", GROUP),
)
