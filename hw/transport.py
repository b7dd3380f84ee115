"""The transport layer: moving bytes to and from one board."""

import time
from abc import ABC, abstractmethod

import serial

# How long one read may block, so that deadlines are checked this often.
READ_SLICE = 0.05


class Transport(ABC):
    """A byte pipe to one board.

    I/O failures raise OSError (serial.SerialException is one); running out of time
    raises TimeoutError. The protocol above decides what each of them means.
    """

    url: str

    @property
    @abstractmethod
    def is_open(self) -> bool:
        """Whether the pipe is open."""

    @abstractmethod
    def open(self) -> None:
        """Open the pipe."""

    @abstractmethod
    def close(self) -> None:
        """Close the pipe; safe to call when already closed."""

    @abstractmethod
    def discard_input(self) -> None:
        """Drop whatever has been received and not read yet."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send bytes."""

    @abstractmethod
    def read_until(self, terminator: bytes, deadline: float) -> bytes:
        """Receive up to and including terminator, or raise TimeoutError at the deadline."""


class SerialTransport(Transport):
    """A pyserial port named by URL: a device path, socket://, rfc2217://, spy://, loop://."""

    def __init__(self, url: str, baudrate: int = 19200, write_timeout: float = 2.0) -> None:
        self.url = url
        # Raises ValueError here for an unknown URL scheme, before anything is opened.
        self._port = serial.serial_for_url(
            url,
            baudrate=baudrate,
            timeout=READ_SLICE,
            write_timeout=write_timeout,
            do_not_open=True,
        )
        # Only OS serial ports (spy:// wraps one) take a lock; the other handlers are not ttys.
        if isinstance(self._port, serial.Serial):
            self._port.exclusive = True

    @property
    def is_open(self) -> bool:
        return self._port.is_open

    def open(self) -> None:
        self._port.open()

    def close(self) -> None:
        self._port.close()

    def discard_input(self) -> None:
        # Not reset_input_buffer(): on a vanished tty it raises termios.error, not an OSError.
        waiting = self._port.in_waiting
        if waiting:
            self._port.read(waiting)

    def write(self, data: bytes) -> None:
        self._port.write(data)

    def read_until(self, terminator: bytes, deadline: float) -> bytes:
        received = bytearray()
        while terminator not in received:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"received {bytes(received)!r} before the deadline")
            received += self._port.read(self._port.in_waiting or 1)
        return bytes(received)
