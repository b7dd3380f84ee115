"""A KMTronic USB relay board on a pseudo-terminal, for tests and demos.

Run `python -m hw.emulator kmtronic --relays 8`: the first line printed is the pty's path.
"""

import os

from .binary import PtyEmulator, run_emulator
from .kmtronic import ALL_STATUS, SIZES, START, STATUS


class KmtronicEmulator(PtyEmulator):
    """Answers KMTronic's three-byte frames; anything before an FF is dropped, as line noise."""

    prefix = "kmtronic-"
    start = START
    frame_size = 3

    def __init__(self, relays: int = 8, link: str | os.PathLike[str] | None = None) -> None:
        if relays not in SIZES:
            raise ValueError(f"KMTronic boards have {list(SIZES)} relays, not {relays}")
        super().__init__(relays, link)
        self.garble = 0  # n: corrupt the next n answers

    def _answer(self, frame: bytes) -> bytes | None:
        relay, op = frame[1], frame[2]
        count = len(self.relays)
        reply = None
        if frame == ALL_STATUS and count > 2:
            reply = bytes(int(on) for on in self.relays)
        elif 1 <= relay <= count and op in (0, 1):
            if not self.ignore_writes:
                self.relays[relay - 1] = op == 1
        elif 1 <= relay <= count and op == STATUS and count <= 2:
            reply = bytes([START, relay, int(self.relays[relay - 1])])
        if reply is not None and self.garble:
            self.garble -= 1
            reply = bytes([0x7E] * len(reply))
        return reply


def main(argv: list[str], prog: str = "python -m hw.emulator kmtronic") -> int:
    """Serve one emulated board until SIGTERM or SIGINT."""
    return run_emulator(lambda relays, link: KmtronicEmulator(relays, link=link), SIZES, argv, prog, __doc__)
