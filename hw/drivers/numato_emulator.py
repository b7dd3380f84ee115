"""A Numato USB relay module on a pseudo-terminal, for tests and demos.

Run `python -m hw.emulator numato --relays 8`: the first line printed is the pty's path.
Configure drivers with the emulator's .path (or --link), a symlink that it keeps pointing
at the current pty, so the same path works again after vanish() and come_back().
"""

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
from pathlib import Path

from .numato import NUMATO_MODELS, relay_digit

EOL = b"\r"


class NumatoEmulator:
    """Answers the Numato ASCII protocol on a pty: echo, reply line, '>' prompt."""

    def __init__(self, relays: int = 8, link: str | os.PathLike[str] | None = None) -> None:
        if relays not in NUMATO_MODELS:
            raise ValueError(f"Numato modules have {sorted(NUMATO_MODELS)} relays, not {relays}")
        self.mask_digits = NUMATO_MODELS[relays].mask_digits
        self.relays = [False] * relays
        self.adc = [0] * 10
        self.version = "00000008"
        self.board_id = "00000000"
        self.commands: list[str] = []
        self.arrivals: list[float] = []  # time.monotonic() when each command's CR arrived
        self.delay = 0.0  # seconds before each answer
        self.drop_replies: int | bool = 0  # True: answer nothing; n: swallow the next n answers
        self.garble_every = 0  # n: corrupt every nth answer
        self.device: str | None = None  # the current pty, e.g. /dev/pts/5
        self._garble = 0
        self._answers = 0
        self._own_dir = None if link else tempfile.mkdtemp(prefix="numato-")
        self.path = str(link) if link else os.path.join(self._own_dir, "ttyACM")
        self._fds: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "NumatoEmulator":
        self.come_back()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def garble_next(self, count: int = 1) -> None:
        """Corrupt the next count answers (the prompt survives, so the driver sees garbage)."""
        self._garble += count

    def come_back(self) -> None:
        """Plug in: open a fresh pty with every relay off and point .path at it."""
        if self._fds is not None:
            return
        master, slave = os.openpty()
        # Raw: no echo by the line discipline, and CR stays CR in both directions.
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
        # Holding the slave open keeps the master readable while no driver has the port.
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

    def _serve(self, master: int) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            pending += os.read(master, 1024)
            while EOL in pending:
                line, _, pending = pending.partition(EOL)
                command = line.replace(b"\n", b"").decode("ascii", "backslashreplace").strip()
                self.commands.append(command)
                self.arrivals.append(time.monotonic())
                reply = self._execute(command)
                if self._stop.wait(self.delay) or self._swallow():
                    continue
                text = command + "\n\r" + ("" if reply is None else reply + "\n\r")
                self._answers += 1
                if self._garble or (self.garble_every and self._answers % self.garble_every == 0):
                    self._garble = max(0, self._garble - 1)
                    text = "".join("~" if c.isalnum() and i % 2 == 0 else c for i, c in enumerate(text))
                os.write(master, text.encode("ascii") + b">")

    def _swallow(self) -> bool:
        if self.drop_replies is True:
            return True
        if self.drop_replies:
            self.drop_replies -= 1
            return True
        return False

    def _execute(self, command: str) -> str | None:
        """Apply one command; return its reply line, or None for a prompt-only answer."""
        digits = {relay_digit(i): i for i in range(len(self.relays))}
        match command.split():
            case ["relay", "on" | "off" as verb, digit] if digit in digits:
                self.relays[digits[digit]] = verb == "on"
            case ["relay", "read", digit] if digit in digits:
                return "on" if self.relays[digits[digit]] else "off"
            case ["relay", "readall"]:
                mask = sum(1 << i for i, on in enumerate(self.relays) if on)
                return f"{mask:0{self.mask_digits}x}"
            case ["relay", "writeall", mask] if len(mask) == self.mask_digits:
                try:
                    bits = int(mask, 16)
                except ValueError:
                    return None
                self.relays[:] = [bool(bits >> i & 1) for i in range(len(self.relays))]
            case ["adc", "read", channel] if channel.isdigit() and int(channel) < len(self.adc):
                return str(self.adc[int(channel)])
            case ["ver"]:
                return self.version
            case ["id", "get"]:
                return self.board_id
        return None


def main(argv: list[str], prog: str = "python -m hw.emulator numato") -> int:
    """Serve one emulated board until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("--relays", type=int, default=8, choices=sorted(NUMATO_MODELS))
    parser.add_argument("--delay", type=float, default=0.0, metavar="S", help="answer S seconds late")
    parser.add_argument("--drop", action="store_true", help="never answer")
    parser.add_argument("--garble-every", type=int, default=0, metavar="N", help="corrupt every Nth answer")
    parser.add_argument("--link", metavar="PATH", help="keep a symlink to the pty at PATH")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with NumatoEmulator(args.relays, link=args.link) as emulator:
        emulator.delay = args.delay
        emulator.drop_replies = args.drop
        emulator.garble_every = args.garble_every
        print(emulator.device, flush=True)
        print(f"numato emulator, {args.relays} relays, at {emulator.path}", file=sys.stderr, flush=True)
        stop.wait()
    return 0
