"""Run the emulator of any registered driver that has one, for tests and demos.

`python -m hw.emulator` (or `--list`) lists them; `python -m hw.emulator <driver> [options]`
runs one (`python -m hw.emulator <driver> --help` shows its options).
"""

import pkgutil
import sys

from . import registry

PROG = "python -m hw.emulator"


def emulated(drivers: registry.Drivers) -> tuple[dict[str, registry.Driver], dict[str, str]]:
    """The drivers that have an emulator, by name, and why the others could not be loaded."""
    found: dict[str, registry.Driver] = {}
    broken: dict[str, str] = {}
    for name in drivers.names():
        try:
            driver = drivers.lookup(name)
        except registry.RegistryError as exc:
            broken[name] = exc.message
            continue
        if driver.emulator is not None:
            found[name] = driver
    return found, broken


def main(argv: list[str] | None = None) -> int:
    """List the emulators, or run the one argv names with the rest of argv."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("--list", "-h", "--help"):
        return _list(usage=bool(argv) and argv[0] != "--list")
    drivers = registry.Drivers()
    name, options = argv[0], argv[1:]
    if name not in drivers.names():
        print(f'{PROG}: unknown driver "{name}" (known: {", ".join(drivers.names())})', file=sys.stderr)
        return 2
    try:
        driver = drivers.lookup(name)
    except registry.RegistryError as exc:
        print(f"{PROG}: {exc.message}", file=sys.stderr)
        return 2
    if driver.emulator is None:
        others = ", ".join(emulated(drivers)[0]) or "none"
        print(f'{PROG}: driver "{name}" has no emulator (drivers with one: {others})', file=sys.stderr)
        return 2
    return pkgutil.resolve_name(driver.emulator)(options, prog=f"{PROG} {name}")


def _list(usage: bool) -> int:
    found, broken = emulated(registry.Drivers())
    if usage:
        print(f"usage: {PROG} [--list] | {PROG} DRIVER [--help | OPTIONS]\n\n{__doc__.splitlines()[0]}\n")
    for name, driver in found.items():
        print(f"{name:<12} {driver.summary}")
    for problem in broken.values():
        print(f"{PROG}: {problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
