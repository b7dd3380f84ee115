"""The driver registry: a driver name to its settings schema and its builder.

Built-in drivers are listed in hw.drivers.BUILTIN; others register an entry point in the group
`powerctl.boards` whose object is a `Driver`. An entry point is loaded only when a config names
it (or an emulator is listed), so a broken plugin stops only the configs that use it.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import TYPE_CHECKING

from marshmallow import Schema

from .drivers import BUILTIN, GROUP
from .errors import HardwareConfigError

if TYPE_CHECKING:
    from .board import Board
    from .config import BoardConfig


@dataclass(frozen=True)
class Driver:
    """One kind of board: how its [[hardware.boards]] keys are read and how a board is built.

    build(config, ordinal) gets the validated BoardConfig (config.settings is what `settings`
    loaded) and how many boards of this driver come before it; it must not open anything, and
    it raises marshmallow.ValidationError({key: [problem]}) for a setting it cannot use.
    """

    summary: str  # one line, shown by `python -m hw.emulator --list`
    build: Callable[[BoardConfig, int], Board]
    relays: Callable[[int], str | None]  # why a relay count is refused, or None
    settings: Schema | None = None  # loads the driver's own keys; None: it has none
    default_relays: int | None = 8  # None: `relays` is required
    emulator: str | None = None  # "module:function", called as function(argv, prog) -> exit code
    needs: Mapping[str, str] = field(default_factory=dict)  # module -> what to pip install for it


class RegistryError(HardwareConfigError):
    """A driver is unknown, registered twice, cannot be loaded, or misses a package."""


class MissingExtra(RegistryError):
    """A driver needs a package that is not installed."""


def relay_range(low: int, high: int) -> Callable[[int], str | None]:
    """A relays rule for any count from low to high."""
    return lambda count: None if low <= count <= high else f"must be {low} to {high}, got {count}"


def relay_sizes(sizes: Mapping[int, object] | tuple[int, ...], product: str) -> Callable[[int], str | None]:
    """A relays rule for products made in a few sizes: 'Acme boards have 1, 2 relays, not 3'."""
    listed = ", ".join(map(str, sizes))
    return lambda count: None if count in sizes else f"{product} have {listed} relays, not {count}"


class Drivers:
    """The drivers registered when it was made: the built-in ones first, then the plugins by name.

    Reading the entry points scans every installed distribution, so a config is parsed and
    built with one Drivers; each driver is loaded on first lookup.
    """

    def __init__(self) -> None:
        self._entries: dict[str, list[metadata.EntryPoint]] = {}
        for entry in (*BUILTIN, *sorted(_plugins(), key=lambda entry: entry.name)):
            self._entries.setdefault(entry.name, []).append(entry)
        self._loaded: dict[str, Driver] = {}

    def names(self) -> list[str]:
        """Every registered driver name."""
        return list(self._entries)

    def lookup(self, name: str) -> Driver:
        """The driver registered as name, loaded; RegistryError says why there is none."""
        if name not in self._loaded:
            self._loaded[name] = self._load(name)
        return self._loaded[name]

    def _load(self, name: str) -> Driver:
        if name not in self._entries:
            raise RegistryError(f'"{name}" is not one of {", ".join(self._entries)}')
        if len(self._entries[name]) > 1:
            origins = "; ".join(_origin(entry) for entry in self._entries[name])
            raise RegistryError(f'driver "{name}" is registered more than once: {origins}')
        entry = self._entries[name][0]
        try:
            driver = entry.load()
        # A plugin's import runs foreign code: whatever it raises is that plugin's config problem.
        except Exception as exc:
            message = f'driver "{name}" ({_origin(entry)}) cannot be loaded: {type(exc).__name__}: {exc}'
            raise RegistryError(message) from exc
        if not isinstance(driver, Driver):
            raise RegistryError(f'driver "{name}" ({_origin(entry)}) is {driver!r}, not a hw.registry.Driver')
        return driver


def names() -> list[str]:
    """Every registered driver name, as Drivers().names()."""
    return Drivers().names()


def lookup(name: str) -> Driver:
    """The driver registered as name, as Drivers().lookup(name)."""
    return Drivers().lookup(name)


def check_needs(name: str, driver: Driver) -> None:
    """Raise MissingExtra for the first package the driver needs that is not installed."""
    for module, requirement in driver.needs.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a parent package of a dotted name is missing
            found = False
        if not found:
            raise _missing(name, module, requirement)


def import_extra(name: str, module: str, requirement: str) -> ModuleType:
    """Import a package a driver needs, or raise MissingExtra naming what to install."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise _missing(name, module, requirement) from exc


def _missing(name: str, module: str, requirement: str) -> MissingExtra:
    return MissingExtra(
        f"driver \"{name}\" needs {module}, which is not installed: pip install '{requirement}'"
    )


def _plugins() -> list[metadata.EntryPoint]:
    """The entry points in GROUP, each distribution once (the first on sys.path, as import does)."""
    # Not metadata.entry_points(): it parses every distribution's METADATA, 4 times slower.
    found: list[metadata.EntryPoint] = []
    seen: set[str] = set()
    for dist in metadata.distributions():
        text = dist.read_text("entry_points.txt")
        if not text or GROUP not in text:
            continue
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name not in seen:
            seen.add(name)
            found.extend(entry for entry in dist.entry_points if entry.group == GROUP)
    return found


def _origin(entry: metadata.EntryPoint) -> str:
    dist = entry.dist
    return f"{entry.value}, built in" if dist is None else f"{entry.value} from {dist.name} {dist.version}"
