"""The exception tree of the scopes package, rooted in ScopeError."""

from __future__ import annotations

# Long texts are cut in str(err) so one bad request cannot flood a log line; .text keeps it all.
_SHOWN_CHARS = 120


class ScopeError(ValueError):
    """A path or scope text is malformed or does not resolve."""

    def __init__(self, message: str, text: str, column: int) -> None:
        super().__init__(message, text, column)
        self.message = message
        self.text = text
        self.column = column

    def __str__(self) -> str:
        shown = self.text if len(self.text) <= _SHOWN_CHARS else self.text[:_SHOWN_CHARS] + "..."
        return f"{self.message} at column {self.column}: {shown!r}"


class ResolveError(ScopeError):
    """A well-formed path does not name what the tree holds."""

    def __init__(self, message: str, text: str, column: int, prefix: tuple[str, ...] = ()) -> None:
        super().__init__(message, text, column)
        # args must mirror __init__ so the error survives pickling across processes
        self.args = (message, text, column, prefix)
        self.prefix = prefix


class NoSuchPath(ResolveError):
    """A segment names no child of the node reached so far."""


class AmbiguousPath(ResolveError):
    """A "one;" segment matches more than one child."""
