"""pdudaemon's requests (on, off, reboot, get-port-state) as the hostname's client, through its scopes.

`hostname` names a pdudaemon "PDU"; the config maps it to a registered client, so each PDU name
acts with that client's scopes and its audit lines name the client. `port` is 1-based, as on
pdudaemon's PDUs and a DLI front panel (port 1 is outlet 0), or an outlet's name.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from powerctl import access
from powerctl.audit import Audit
from powerctl.auth import Authenticator, Principal
from powerctl.auth.bearer import InvalidToken
from powerctl.relay import Actor, Relay
from scopes import Access

COMMANDS = ("on", "off", "reboot", "get-port-state")
DEFAULT_REBOOT_DELAY = 5.0  # s, pdudaemon's default
MAX_DELAY = 600.0


class PduError(Exception):
    """A refused request: `status` for HTTP, `text` one short line both protocols send."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass(frozen=True)
class Request:
    command: str
    hostname: str | None
    port: str | None
    delay: str | None = None
    token: str | None = None


@dataclass(frozen=True)
class Action:
    """A request that passed every check: what to do, to which outlet, as whom."""

    command: str
    index: int
    delay: float
    principal: Principal
    hostname: str


class PduDaemon:
    def __init__(self, relay: Relay, authn: Authenticator, audit: Audit, settings: dict):
        self._relay = relay
        self._authn = authn
        self._audit = audit
        self._hostnames = settings["hostnames"]
        self._allow = [ipaddress.ip_network(text, strict=False) for text in settings["allow"]]

    def prepare(self, request: Request, addr: str, via: str) -> Action:
        """Check a request whole before anything happens: who, which outlet, allowed or not."""
        if self._allow and not any(ipaddress.ip_address(addr) in net for net in self._allow):
            self._audit.record(f"access denied for {addr}: not an allowed pdudaemon source address")
            raise PduError(403, f"{addr} may not use this listener")
        left = self._authn.lockout.locked(addr)
        if left:
            self._audit.record(f"access denied for {addr}: lockout, {int(left) + 1} s left")
            raise PduError(403, f"security lockout of {addr}; try again in {int(left) + 1} s")
        if request.command not in COMMANDS:
            raise PduError(
                404, f"unknown command {request.command[:20]!r}: use on, off, reboot or get-port-state"
            )
        if not request.hostname or not request.port:
            raise PduError(400, "hostname and port are both needed")
        entry = self._hostnames.get(request.hostname)
        if entry is None:
            raise PduError(404, f"unknown hostname {request.hostname[:64]!r}")
        index = self._outlet(request.port)
        delay = self._delay(request)
        client = entry["client"]
        if entry["token_required"]:
            self._check_token(client, request.token, addr, via)
        principal = self._authn.client_principal(client, via, addr)
        if principal is None:
            self._audit.record(
                f"access denied for {addr}: {request.hostname}'s client {client} is not registered"
            )
            raise PduError(
                403, f"hostname {request.hostname}: its client {client} is not registered or is denied"
            )
        leaf, word = self._leaf(request.command, index)
        refused = access.check(principal, [leaf], word, self._relay.attrs, self._audit)
        if refused is not None:
            raise PduError(
                403, f"{request.hostname} may not {request.command} port {request.port}: {refused}"
            )
        return Action(request.command, index, delay, principal, request.hostname)

    def _outlet(self, port: str) -> int:
        count = self._relay.count
        if port.isdigit():
            number = int(port)
            if not 1 <= number <= count:
                raise PduError(404, f"port {port[:12]} is out of range: ports are 1 to {count}")
            return number - 1
        named = [i for i in range(count) if self._relay.outlet(i).name == port]
        if len(named) != 1:
            raise PduError(404, f"no single outlet is named {port[:64]!r} (ports are 1 to {count} or a name)")
        return named[0]

    @staticmethod
    def _delay(request: Request) -> float:
        if request.delay is None or request.delay == "":
            return DEFAULT_REBOOT_DELAY if request.command == "reboot" else 0.0
        try:
            delay = float(request.delay)
        except ValueError:
            raise PduError(400, f"delay {request.delay[:12]!r} is not a number of seconds") from None
        if not 0 <= delay <= MAX_DELAY:
            raise PduError(400, f"delay must be 0 to {MAX_DELAY:g} s")
        return delay

    def _check_token(self, client: str, token: str | None, addr: str, via: str) -> None:
        if not token:
            self._audit.record(
                f"access denied for {addr}: pdudaemon request without the token its hostname needs"
            )
            raise PduError(401, "this hostname needs token=<base64url token of its client>")
        try:
            self._authn.bearer.verify(f"{client}.{token}")
        except InvalidToken as err:
            self._authn.refuse(
                addr, f"{via}: {err.reason.split(' for client')[0]}", identity=f"client:{client}"
            )
            raise PduError(401, "invalid token") from None

    @staticmethod
    def _leaf(command: str, index: int) -> tuple[tuple[str, ...], Access]:
        """The /restapi/ leaf a command touches: the same scope governs a DLI PUT and a pdudaemon off."""
        outlet = ("relay", "outlets", str(index))
        if command == "get-port-state":
            return (*outlet, "physical_state"), Access.GET
        if command == "reboot":
            return (*outlet, "cycle"), Access.INVOKE
        return (*outlet, "state"), Access.MODIFY

    # carrying out, on a worker thread
    def act(self, action: Action) -> str:
        """Do the action (a reboot's first half); the answer's body."""
        principal = action.principal
        actor = Actor.of(principal, "pdudaemon", f"{principal.actor()} (pdudaemon {action.hostname})")
        if action.command == "get-port-state":
            state = self._relay.physical(action.index)
            if state is None:
                raise PduError(503, f"the board of port {action.index + 1} does not answer")
            return '{"state": "%s"}' % ("on" if state else "off")
        if action.command == "reboot":
            self._relay.cycle(action.index, actor, delay=action.delay)
        else:
            self._relay.set_state([action.index], action.command == "on", actor)
        return "OK - accepted request\n"

    def rebooted(self, action: Action) -> bool:
        """Whether a rebooted outlet is on again."""
        return self._relay.physical(action.index) is True
