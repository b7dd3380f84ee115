"""An LCUS / CH340 USB relay module on a pseudo-terminal, for tests and demos.

Run `python -m hw.emulator lcus --relays 4`: the first line printed is the pty's path.
The module answers nothing; frames with a wrong checksum are ignored, as the real ones do.
"""

import os

from .binary import PtyEmulator, run_emulator
from .lcus import SIZES, START


class LcusEmulator(PtyEmulator):
    """Carries out `A0 ch op sum` frames; anything before an A0 is dropped, as line noise."""

    prefix = "lcus-"
    start = START
    frame_size = 4

    def __init__(self, relays: int = 4, link: str | os.PathLike[str] | None = None) -> None:
        if relays not in SIZES:
            raise ValueError(f"LCUS modules have {list(SIZES)} relays, not {relays}")
        super().__init__(relays, link)
        self.rejected: list[bytes] = []  # frames refused for their checksum or relay number

    def _answer(self, frame: bytes) -> None:
        _, relay, op, checksum = frame
        if checksum != (START + relay + op) & 0xFF or not 1 <= relay <= len(self.relays) or op > 1:
            self.rejected.append(frame)
        elif not self.ignore_writes:
            self.relays[relay - 1] = op == 1
        return None


def main(argv: list[str], prog: str = "python -m hw.emulator lcus") -> int:
    """Serve one emulated module until SIGTERM or SIGINT."""
    return run_emulator(lambda relays, link: LcusEmulator(relays, link=link), SIZES, argv, prog, __doc__)
