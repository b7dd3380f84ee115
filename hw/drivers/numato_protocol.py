"""The Numato protocol layer: commands and replies over a transport, with bounded retries."""

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TypeVar

from ..errors import BoardProtocolError, BoardUnavailable
from ..transport import Transport

T = TypeVar("T")

log = logging.getLogger("hw")

EOL = b"\r"
PROMPT = b">"


def no_reply(reply: str | None) -> None:
    """Parser for commands that answer with the prompt only."""
    if reply is not None:
        raise ValueError(f"expected no reply, got {reply!r}")


class Protocol(ABC):
    """Turns one command into one reply for one board, within a deadline.

    Raises BoardUnavailable when the board cannot be reached in time (the port is then
    closed) and BoardProtocolError when its replies stay garbled after the retries.
    """

    name: str
    url: str
    timeout: float

    @abstractmethod
    def open(self, deadline: float) -> None:
        """Open the transport and check that the board answers."""

    @abstractmethod
    def close(self) -> None:
        """Close the transport."""

    @abstractmethod
    def query(self, command: str, deadline: float, parse: Callable[[str | None], T] = no_reply) -> T:
        """Send command and return parse(reply); parse raises ValueError on a bad reply."""


class NumatoProtocol(Protocol):
    """Numato framing: the command and CR, answered by its echo, a reply line, and '>'."""

    def __init__(self, transport: Transport, *, name: str, timeout: float = 2.0, retries: int = 2) -> None:
        self.name = name
        self.url = transport.url
        self.timeout = timeout
        self.retries = retries
        self._transport = transport

    def open(self, deadline: float) -> None:
        self._transport.close()
        try:
            self._transport.open()
        except OSError as exc:
            raise BoardUnavailable(f"cannot open port: {exc}", self.name, self.url) from exc
        # An empty command clears any half-typed line and proves that the board answers.
        self.query("", deadline)

    def close(self) -> None:
        self._transport.close()

    def query(self, command: str, deadline: float, parse: Callable[[str | None], T] = no_reply) -> T:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return parse(self._exchange(command, deadline))
            except ValueError as exc:
                # Line noise or a stale reply: asking again is safe, every command is idempotent.
                failure = exc
                log.debug('board "%s": attempt %d of "%s": %s', self.name, attempt, command, exc)
                if time.monotonic() >= deadline:
                    break
            except TimeoutError as exc:
                self.close()
                message = f'no reply to "{command}" within {self.timeout} s'
                raise BoardUnavailable(message, self.name, self.url) from exc
            except OSError as exc:
                self.close()
                message = f'"{command}" failed: {exc}'
                raise BoardUnavailable(message, self.name, self.url) from exc
        message = f'unexpected reply to "{command}" after {attempt} attempts: {failure}'
        raise BoardProtocolError(message, self.name, self.url) from failure

    def _exchange(self, command: str, deadline: float) -> str | None:
        """One round trip: the reply line, or None when the board answered with the prompt only."""
        self._transport.discard_input()
        self._transport.write(command.encode("ascii") + EOL)
        received = self._transport.read_until(PROMPT, deadline)
        text = received.partition(PROMPT)[0].decode("ascii")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if command:
            if not lines or lines[0] != command:
                raise ValueError(f"echo {lines[0] if lines else ''!r} does not match")
            del lines[0]
        if len(lines) > 1:
            raise ValueError(f"expected one reply line, got {lines!r}")
        return lines[0] if lines else None
