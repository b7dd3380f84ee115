"""List pagination as in the reference: `pageSize` (default 25), `marker`, `ascendingOrder`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select

from fleetserver.errors import Invalid

DEFAULT_SIZE = 25
MAX_SIZE = 250
MAX_MARKER = 2**31 - 1  # markers are row numbers: a 32-bit INTEGER column on PostgreSQL


def _digits(text: str) -> bool:
    """ASCII 0-9 only: str.isdigit() also takes '²' and other scripts' digits."""
    return text.isascii() and text.isdecimal() and len(text) <= 10


@dataclass(frozen=True)
class Page:
    size: int = DEFAULT_SIZE
    marker: int | None = None
    ascending: bool = False

    @classmethod
    def parse(cls, args) -> Page:
        """From query arguments; anything malformed is refused, not guessed at."""
        size = args.get("pageSize", str(DEFAULT_SIZE))
        if not _digits(size) or not 1 <= int(size) <= MAX_SIZE:
            raise Invalid(f"pageSize must be an integer from 1 to {MAX_SIZE}")
        marker = args.get("marker")
        if marker is not None and (not _digits(marker) or int(marker) > MAX_MARKER):
            raise Invalid("marker must be a nextMarker this server returned")
        order = args.get("ascendingOrder", "false").lower()
        if order not in ("true", "false"):
            raise Invalid("ascendingOrder must be true or false")
        return cls(int(size), None if marker is None else int(marker), order == "true")

    def apply(self, query: Select, seq) -> Select:
        """Order by `seq` (creation order) and start at the marker; fetches one extra row."""
        if self.marker is not None:
            query = query.where(seq >= self.marker if self.ascending else seq <= self.marker)
        return query.order_by(seq.asc() if self.ascending else seq.desc()).limit(self.size + 1)

    def split(self, rows: list) -> tuple[list, str | None]:
        """(this page's rows, nextMarker or None)."""
        if len(rows) <= self.size:
            return rows, None
        return rows[: self.size], str(rows[self.size].seq)
