"""The device layer: what the controller asks of one relay board."""

from abc import ABC, abstractmethod
from collections.abc import Sequence

from .meters import MeterReading


class Board(ABC):
    """One relay board with its meters.

    Every call takes a deadline (a time.monotonic() value) and raises BoardUnavailable or
    BoardProtocolError if it cannot finish by then. Boards are not thread-safe: the
    controller's BoardHandle serialises every call under one lock per board.
    """

    name: str
    url: str
    relay_count: int
    timeout: float  # budget in seconds for one operation, retries included

    @abstractmethod
    def open(self, deadline: float) -> None:
        """Open the port and check that the board answers."""

    @abstractmethod
    def close(self) -> None:
        """Close the port; safe to call when already closed."""

    @abstractmethod
    def read_states(self, deadline: float) -> list[bool]:
        """Every relay's state as the board reports it."""

    @abstractmethod
    def write_states(self, states: Sequence[bool], deadline: float) -> None:
        """Switch every relay at once."""

    @abstractmethod
    def set_relay(self, index: int, on: bool, deadline: float) -> None:
        """Switch one relay and confirm that the board reports the new state."""

    @abstractmethod
    def read_meters(self, deadline: float) -> dict[str, MeterReading]:
        """Every meter's current reading, keyed by meter id."""

    @abstractmethod
    def idle_meters(self) -> dict[str, MeterReading]:
        """Every meter without a value, for when the board cannot be read."""
