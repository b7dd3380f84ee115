"""Network settings: a simulated backend, and one that runs configured commands (never a shell)."""

from __future__ import annotations

import ipaddress
import re
import shlex
import subprocess
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence

from .errors import HardwareError

SETTINGS = (
    "wireless.enabled",
    "wireless.ssid",
    "wired.protocol",
    "wired.ip_address",
    "wired.netmask",
    "wired.gateway",
    "wired.mac_address",
)
WRITABLE = ("wireless.enabled", "wired.protocol")
PROTOCOLS = {"dhcp": "dhcp", "auto": "dhcp", "static": "static", "manual": "static"}
_TRUE = {"true", "on", "enabled", "yes", "1"}
_FALSE = {"false", "off", "disabled", "no", "0"}
_MAC = re.compile(r"[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class NetworkError(HardwareError):
    """A network command could not run, failed or timed out."""

    def __init__(self, message: str, command: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.command = list(command)

    def __reduce__(self):
        return type(self), (self.message, self.command)


class NetworkReplyError(NetworkError):
    """A network command ran but answered something that is not a valid value."""


def command_keys() -> list[str]:
    """The keys of the [network.commands] table: get_<setting> and set_<writable setting>."""
    keys = ["get_" + name.replace(".", "_") for name in SETTINGS]
    return keys + ["set_" + name.replace(".", "_") for name in WRITABLE]


def command_problem(key: str, argv: Sequence[str]) -> str | None:
    """Why a configured command cannot be used, or None when it can."""
    if key not in command_keys():
        return f"unknown command (use {', '.join(command_keys())})"
    if not argv or not all(isinstance(arg, str) for arg in argv) or not argv[0]:
        return "must be a non-empty list of strings, the program first"
    allowed = set()
    if key.startswith("set_"):
        allowed = {"{value}", "{on_off}"} if key == "set_wireless_enabled" else {"{value}"}
    for arg in argv:
        for placeholder in _PLACEHOLDER.findall(arg):
            if placeholder not in allowed:
                return f"{placeholder} is not a placeholder here (allowed: {sorted(allowed)})"
    return None


class Network(ABC):
    """The settings of the network interfaces, by dotted name such as wireless.enabled."""

    @abstractmethod
    def get(self, setting: str) -> object:
        """The current value; None when unknown."""

    @abstractmethod
    def set(self, setting: str, value: object) -> None:
        """Change a setting in WRITABLE."""

    def writable(self, setting: str) -> bool:
        return setting in WRITABLE


class SimNetwork(Network):
    """Settings kept in memory, starting from plausible values (documentation addresses)."""

    DEFAULTS = {
        "wireless.enabled": True,
        "wireless.ssid": "powerctl-sim",
        "wired.protocol": "dhcp",
        "wired.ip_address": "192.0.2.10",
        "wired.netmask": "255.255.255.0",
        "wired.gateway": "192.0.2.1",
        "wired.mac_address": "02:00:00:00:00:01",
    }

    def __init__(self) -> None:
        self._values = dict(self.DEFAULTS)
        self._lock = threading.Lock()

    def get(self, setting: str) -> object:
        with self._lock:
            return self._values[setting]

    def set(self, setting: str, value: object) -> None:
        with self._lock:
            self._values[setting] = value


def _flag(text: str) -> bool:
    word = text.lower()
    if word not in _TRUE | _FALSE:
        raise ValueError("not a yes/no value")
    return word in _TRUE


def _protocol(text: str) -> str:
    if text.lower() not in PROTOCOLS:
        raise ValueError(f"not one of {', '.join(PROTOCOLS)}")
    return PROTOCOLS[text.lower()]


def _address(text: str) -> str:
    return str(ipaddress.ip_interface(text).ip)  # accepts 10.0.0.5 and 10.0.0.5/24


def _mac(text: str) -> str:
    if not _MAC.fullmatch(text.lower()):
        raise ValueError("not a MAC address")
    return text.lower().replace("-", ":")


def _ssid(text: str) -> str:
    if len(text.encode()) > 32:
        raise ValueError("longer than 32 bytes")
    return text


READERS: dict[str, Callable[[str], object]] = {
    "wireless.enabled": _flag,
    "wireless.ssid": _ssid,
    "wired.protocol": _protocol,
    "wired.ip_address": _address,
    "wired.netmask": _address,
    "wired.gateway": _address,
    "wired.mac_address": _mac,
}


class CommandNetwork(Network):
    """Runs one configured argv per read or write, one at a time, each within `timeout`."""

    def __init__(self, commands: Mapping[str, Sequence[str]], timeout: float) -> None:
        self.commands = {key: list(argv) for key, argv in commands.items()}
        self.timeout = timeout
        self._lock = threading.Lock()

    def writable(self, setting: str) -> bool:
        return "set_" + setting.replace(".", "_") in self.commands

    def get(self, setting: str) -> object:
        argv = self.commands.get("get_" + setting.replace(".", "_"))
        if argv is None:
            return None
        text = self._run(argv)
        if not text:
            return None
        try:
            return READERS[setting](text)
        except ValueError as err:
            raise NetworkReplyError(
                f"command {shlex.join(argv)} answered {text[:60]!r} for {setting}: {err}", argv
            ) from None

    def set(self, setting: str, value: object) -> None:
        template = self.commands["set_" + setting.replace(".", "_")]
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        on_off = "on" if value else "off"
        self._run([arg.replace("{value}", text).replace("{on_off}", on_off) for arg in template])

    def _run(self, argv: list[str]) -> str:
        shown = shlex.join(argv)
        if not self._lock.acquire(timeout=self.timeout):
            raise NetworkError(f"busy: another network command ran for {self.timeout} s", argv)
        try:
            done = subprocess.run(  # noqa: S603 (argv from the admin's config, no shell)
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise NetworkError(f"command {shown} did not finish within {self.timeout} s", argv) from None
        except OSError as err:
            raise NetworkError(f"command {shown} could not run: {err.strerror}", argv) from None
        finally:
            self._lock.release()
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            reason = f": {detail[0][:200]}" if detail else ""
            raise NetworkError(f"command {shown} exited with status {done.returncode}{reason}", argv)
        text = done.stdout.decode("utf-8", "replace").strip()
        if "\n" in text:
            raise NetworkReplyError(f"command {shown} answered several lines; one was expected", argv)
        return text
