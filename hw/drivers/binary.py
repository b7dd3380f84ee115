"""What the binary serial relay drivers (kmtronic, lcus) share: fixed-size frames over a
SerialTransport, each exchange within a deadline, and an emulator base on a real pty."""

import argparse
import os
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

from marshmallow import ValidationError

from ..errors import BoardUnavailable
from ..transport import SerialTransport


class FrameTransport(SerialTransport):
    """A SerialTransport that also reads an exact number of bytes by a deadline."""

    def read_exact(self, count: int, deadline: float) -> bytes:
        """Receive exactly count bytes, or raise TimeoutError at the deadline."""
        received = bytearray()
        while len(received) < count:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"received {bytes(received).hex(' ')!r} of {count} bytes before the deadline"
                )
            received += self._port.read(count - len(received))
        return bytes(received)

    def check_alive(self) -> None:
        """Raise OSError if the port has gone (a vanished USB device, a hung-up pty)."""
        self._port.in_waiting  # noqa: B018 - the ioctl is the check


def frame_transport(url: str, timeout: float, baudrate: int = 9600) -> FrameTransport:
    """A port on url at 8N1, or ValidationError({"url": ...}) when pyserial refuses it."""
    try:
        return FrameTransport(url, baudrate=baudrate, write_timeout=timeout)
    except ValueError as exc:  # pyserial: unknown URL scheme or unusable port settings
        raise ValidationError({"url": [str(exc)]}) from exc


class FramedPort:
    """One board's port: open, send frames, read fixed-size replies; failures as hw errors.

    Any OSError or timeout closes the port and raises BoardUnavailable, so the board goes
    offline and the monitor reopens it; what a garbled reply means is the caller's business.
    """

    def __init__(self, transport: FrameTransport, name: str, timeout: float) -> None:
        self.transport = transport
        self.name = name
        self.url = transport.url
        self.timeout = timeout

    def open(self) -> None:
        self.transport.close()
        try:
            self.transport.open()
        except OSError as exc:
            raise BoardUnavailable(f"cannot open port: {exc}", self.name, self.url) from exc

    def close(self) -> None:
        self.transport.close()

    def send(self, frame: bytes, deadline: float) -> None:
        """Write one frame (nothing is read: the caller reads back what it needs)."""
        self._guard(frame, deadline, lambda: self._send(frame))

    def exchange(self, frame: bytes, reply_size: int, deadline: float) -> bytes:
        """Write one frame and return the reply_size bytes that answer it."""

        def run() -> bytes:
            self._send(frame)
            return self.transport.read_exact(reply_size, deadline)

        return self._guard(frame, deadline, run)

    def check_alive(self) -> None:
        """Raise BoardUnavailable if the port has gone."""
        self._guard(b"", time.monotonic() + self.timeout, self.transport.check_alive)

    def _send(self, frame: bytes) -> None:
        self.transport.discard_input()  # a late or stray reply must not answer this frame
        self.transport.write(frame)

    def _guard(self, frame: bytes, deadline: float, run: Callable):
        if not self.transport.is_open:
            raise BoardUnavailable("port is closed", self.name, self.url)
        try:
            return run()
        except TimeoutError as exc:
            self.close()
            message = f"no reply to {frame.hex(' ')} within {self.timeout:g} s"
            raise BoardUnavailable(message, self.name, self.url) from exc
        except OSError as exc:
            self.close()
            raise BoardUnavailable(f"{frame.hex(' ') or 'port'}: {exc}", self.name, self.url) from exc


class PtyEmulator:
    """A byte-protocol board on a pseudo-terminal; subclasses set `start` and `frame_size` (or
    implement _handle() for other framings) and implement _answer().

    .path (or link) is a symlink kept pointing at the current pty, so the same path works
    again after vanish() and come_back(). Faults: delay (seconds before each answer),
    drop_replies (True: never answer; n: swallow the next n answers), ignore_writes (relay
    commands are received and not carried out).
    """

    prefix = "relay-"
    start: int | None = None  # the byte every frame begins with; anything before it is line noise
    frame_size = 0

    def __init__(self, relays: int, link: str | os.PathLike[str] | None = None) -> None:
        self.relays = [False] * relays
        self.frames: list[bytes] = []  # every complete frame received
        self.arrivals: list[float] = []  # time.monotonic() when each frame's last byte arrived
        self.delay = 0.0
        self.drop_replies: int | bool = 0
        self.ignore_writes = False
        self.device: str | None = None
        self._own_dir = None if link else tempfile.mkdtemp(prefix=self.prefix)
        self.path = str(link) if link else os.path.join(self._own_dir, "ttyUSB")
        self._fds: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self):
        self.come_back()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def come_back(self) -> None:
        """Plug in: a fresh pty with every relay off (a power cycle), .path pointing at it."""
        if self._fds is not None:
            return
        master, slave = os.openpty()
        tty.setraw(slave)
        self.relays[:] = [False] * len(self.relays)
        self.device = os.ttyname(slave)
        link = Path(self.path)
        if link.exists() and not link.is_symlink():
            os.close(master)
            os.close(slave)
            raise FileExistsError(f"{link} exists and is not a symlink")
        staged = link.with_name(link.name + ".new")
        staged.unlink(missing_ok=True)
        staged.symlink_to(self.device)
        staged.replace(link)
        self._fds = (master, slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, args=(master,), daemon=True)
        self._thread.start()

    def vanish(self) -> None:
        """Unplug: close the pty, so an open port fails, and remove .path."""
        if self._fds is None:
            return
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        for fd in self._fds:
            os.close(fd)
        self._fds = None
        Path(self.path).unlink(missing_ok=True)

    def close(self) -> None:
        """Unplug for good and remove what the emulator created."""
        self.vanish()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None

    def _handle(self, pending: bytes) -> tuple[bytes, list[bytes]]:
        """Take the complete frames off pending: (what is left, the frames taken)."""
        if self.start is None:
            raise NotImplementedError
        frames = []
        while True:
            begin = pending.find(bytes([self.start]))
            if begin < 0:
                return b"", frames
            pending = pending[begin:]
            if len(pending) < self.frame_size:
                return pending, frames
            frames.append(pending[: self.frame_size])
            pending = pending[self.frame_size :]

    def _answer(self, frame: bytes) -> bytes | None:
        """Carry out one frame; return its reply, or None for a frame without one."""
        raise NotImplementedError

    def _serve(self, master: int) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            pending += os.read(master, 1024)
            pending, frames = self._handle(pending)
            for frame in frames:
                self.frames.append(frame)
                self.arrivals.append(time.monotonic())
                reply = self._answer(frame)
                if reply is None or self._stop.wait(self.delay) or self._swallow():
                    continue
                os.write(master, reply)

    def _swallow(self) -> bool:
        if self.drop_replies is True:
            return True
        if self.drop_replies:
            self.drop_replies -= 1
            return True
        return False


def run_emulator(
    make: Callable[[int, str | None], PtyEmulator], sizes, argv: list[str], prog: str, doc: str
) -> int:
    """Serve one emulated board until SIGTERM or SIGINT; the first line printed is its pty."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n")[0])
    parser.add_argument("--relays", type=int, default=8, choices=sorted(sizes))
    parser.add_argument("--delay", type=float, default=0.0, metavar="S", help="answer S seconds late")
    parser.add_argument("--drop", action="store_true", help="never answer")
    parser.add_argument("--link", metavar="PATH", help="keep a symlink to the pty at PATH")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with make(args.relays, args.link) as emulator:
        emulator.delay = args.delay
        emulator.drop_replies = args.drop
        print(emulator.device, flush=True)
        print(f"{prog}: {args.relays} relays at {emulator.path}", file=sys.stderr, flush=True)
        stop.wait()
    return 0
