"""The exceptions raised by hw: one root, rooted in OSError like pyserial's."""


class HardwareError(OSError):
    """Root of every error raised by hw; names the board it concerns, if any."""

    def __init__(self, message: str, board: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.board = board
        self.url = url

    def __str__(self) -> str:
        if self.board is None:
            return self.message
        where = f'board "{self.board}"'
        if self.url:
            where += f" ({self.url})"
        return f"{where}: {self.message}"

    def __reduce__(self):
        # OSError would rebuild from args alone and lose board and url.
        return type(self), (self.message, self.board, self.url)


class BoardUnavailable(HardwareError):
    """A board could not be opened, closed its port, or did not answer in time."""


class BoardProtocolError(HardwareError):
    """A board kept answering with garbled or unexpected replies."""


class HardwareConfigError(HardwareError):
    """The [hardware] configuration is invalid."""
