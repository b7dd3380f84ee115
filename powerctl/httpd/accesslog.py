"""The access log: one line per answer, handed to one background thread that writes them in batches.

An app thread only appends a tuple, so neither formatting nor the handler's lock nor the write
(which lets go of the GIL, and with many threads waiting for it, hands it to another) costs the
request; each line still carries the time of its answer.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence

log = logging.getLogger("powerctl.access")
FORMAT = '%s - - [%s] "%s %s HTTP/%s" %d %d'


class BatchedStreamHandler(logging.StreamHandler):
    """A StreamHandler that, inside `batched`, writes a batch's lines at its end: one write.

    Each line is still formatted as its own record. Without this a line-buffered stream
    (stderr is one, since Python 3.9) would write once a line, and every write lets go of the
    GIL, handing it to a request thread and waiting to get it back.
    """

    batching = False

    def __init__(self, stream=None):
        super().__init__(stream)
        self._pending: list[str] = []
        self._last: logging.LogRecord | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if not self.batching:
            super().emit(record)
            return
        try:
            self._pending.append(self.format(record) + self.terminator)
            self._last = record
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - as StreamHandler.emit: handleError reports it
            self.handleError(record)

    def emit_texts(self, texts: list[str], record: logging.LogRecord) -> None:
        """Add lines formatted already to the batch; `record` is what handleError reports
        should their write fail."""
        with self.lock:
            self._pending.append(self.terminator.join(texts) + self.terminator)
            self._last = record
        if not self.batching:
            self.flush()

    def flush(self) -> None:
        if self.batching:
            return
        with self.lock:  # emit() runs under it: no line is added while the batch is taken
            text, self._pending = "".join(self._pending), []
            last, self._last = self._last, None
            if text:
                try:
                    self.stream.write(text)
                except Exception:  # noqa: BLE001 - as StreamHandler.emit: reported, not raised
                    self.handleError(last)  # type: ignore[arg-type]
        super().flush()


class StampFormatter(logging.Formatter):
    """A Formatter whose asctime (the default format, without datefmt) is built once a second.

    The same text as logging.Formatter's: only the strftime of the second is remembered, and
    whether the format has a time is looked up once, not once a record.
    """

    _stamp: tuple[int, str] = (-1, "")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._uses_time = self.usesTime()
        self._batch_format = _batch_format(self)

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            return super().format(record)
        # logging.Formatter.format, for a record with nothing after its message
        record.message = record.getMessage()
        if self._uses_time:
            record.asctime = self.formatTime(record, self.datefmt)
        return self.formatMessage(record)

    def format_lines(self, record: logging.LogRecord, lines: Sequence[tuple[float, str]]) -> list[str] | None:
        """What format() gives a copy of `record` for each (time, message) of `lines`; None
        where this format cannot be filled so.

        Every record of a batch is the same but for its time and message, so what the format
        takes from the rest of the record is filled in once for the batch, and each line fills
        in only its time stamp and message (no record is made for it).
        """
        if self._batch_format is None or record.args:
            return None
        if record.exc_info or record.exc_text or record.stack_info:  # text after the message
            return None
        pieces, names = self._batch_format
        values = {**(self._style._defaults or {}), **record.__dict__}
        # the batch's own text, each piece filled in once and its `%` kept from the lines' filling
        fixed = [(piece % values).replace("%", "%%") for piece in pieces]
        texts = []
        positional = names == ["asctime", "message"]  # the usual order: quicker filled by position
        if positional:
            each = f"{fixed[0]}%s{fixed[1]}%s{fixed[2]}"
        else:
            filled = zip(names, fixed[1:], strict=True)
            each = fixed[0] + "".join(f"%({name})s{piece}" for name, piece in filled)
        for at, message in lines:
            asctime = self._asctime(at, (at % 1) * 1000)  # the msecs a stamped() copy would have
            if positional:
                texts.append(each % (asctime, message))
            else:
                texts.append(each % {"asctime": asctime, "message": message})
        return texts

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        return self._asctime(record.created, record.msecs)

    def _asctime(self, at: float, msecs: float) -> str:
        """logging's default time stamp of `at`; the strftime of its second is remembered."""
        second = int(at)
        stamp = self._stamp
        if stamp[0] != second:
            stamp = self._stamp = (second, time.strftime(self.default_time_format, self.converter(second)))
        return self.default_msec_format % (stamp[1], msecs)


def stamped(shared: dict, at: float) -> logging.LogRecord:
    """A copy of the record whose attributes are `shared`, stamped with the time `at`.

    LogRecord() looks up the thread, process and caller for every record, which costs more
    than the rest of logging a line; the lines of a batch share all of that, so each record of
    a batch is a copy of one made for the batch, with its own time (and message or arguments).
    """
    entry = logging.LogRecord.__new__(logging.LogRecord)
    entry.__dict__ = shared.copy()  # a copy of the whole table, not key by key
    entry.created, entry.msecs = at, (at % 1) * 1000
    entry.relativeCreated = shared["relativeCreated"] + (at - shared["created"]) * 1000
    return entry


# The fields of a record that differ between the lines of a batch (see StampFormatter.format_lines)
_FIELD = re.compile(r"%(?:%|\((\w+)\)([^a-zA-Z%]*[a-zA-Z]))")
_PER_LINE = {"created", "msecs", "relativeCreated", "msg", "args", "asctime", "message"}


def _batch_format(formatter: logging.Formatter) -> tuple[list[str], list[str]] | None:
    """The formatter's %-format cut at each plain `%(asctime)s` (logging's default time format)
    and `%(message)s`: the pieces between them and the names cut out. None where the format
    takes anything else that differs line by line, or is not a %-format."""
    if type(formatter._style) is not logging.PercentStyle or formatter.datefmt is not None:
        return None
    fmt = formatter._style._fmt
    pieces, names, start = [], [], 0
    for match in _FIELD.finditer(fmt):
        name, spec = match.groups()
        if name not in _PER_LINE:
            continue  # `%%`, or a field every record of the batch shares
        if name not in ("asctime", "message") or spec != "s":
            return None
        pieces.append(fmt[start : match.start()])
        names.append(name)
        start = match.end()
    pieces.append(fmt[start:])
    return pieces, names


def _plain_handlers(logger: logging.Logger, level: int) -> list[logging.Handler] | None:
    """The handlers that logger.handle() would give a record of `level`, where no logger or
    handler on the way filters; None where logging's own path must be taken."""
    handlers: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        handlers += current.handlers
        current = current.parent if current.propagate else None
    if not handlers or any(h.filters for h in handlers):
        return None  # filters, or logging's last resort
    return [handler for handler in handlers if level >= handler.level]


def handle_all(logger: logging.Logger, records: list[logging.LogRecord]) -> None:
    """Hand records to `logger` as its handle() would, one by one, in one batch (`batched`).

    Where neither the loggers nor their handlers filter, each handler that takes the records'
    level gets all of them under one taking of its lock; logger.handle() takes it once a
    record and walks the loggers each time. Otherwise each record goes through logger.handle().
    """
    with batched(logger):
        if logger.disabled or not records:
            return
        level = records[0].levelno
        handlers = _plain_handlers(logger, level)
        if handlers is None or any(r.levelno != level for r in records):
            for record in records:  # logging's own path: filters, lastResort, mixed levels
                logger.handle(record)
            return
        for handler in handlers:
            _emit_all(handler, records)


def log_lines(logger: logging.Logger, shared: logging.LogRecord, lines: Sequence[tuple[float, str]]) -> None:
    """Log each (time, message) of `lines` as a copy of the record `shared`, in one batch.

    Each handler receives what handle_all() would give it for those copies (`stamped` with the
    time, `msg` the message). A BatchedStreamHandler whose formatter is a StampFormatter with a
    plain format is given the batch's text at once instead (StampFormatter.format_lines): no
    record is made for a line that only such handlers receive, as under `powerctl serve`.
    """
    with batched(logger):
        if logger.disabled or not lines:
            return
        handlers = _plain_handlers(logger, shared.levelno)
        if handlers is None:
            for record in _copies(shared, lines):  # logging's own path: filters, lastResort
                logger.handle(record)
            return
        records: list[logging.LogRecord] | None = None
        for handler in handlers:
            if not _written_at_once(handler, shared, lines):
                records = records if records is not None else _copies(shared, lines)
                _emit_all(handler, records)


def _copies(shared: logging.LogRecord, lines: Sequence[tuple[float, str]]) -> list[logging.LogRecord]:
    records = []
    for at, message in lines:
        record = stamped(shared.__dict__, at)
        record.msg = message
        records.append(record)
    return records


def _written_at_once(
    handler: logging.Handler, shared: logging.LogRecord, lines: Sequence[tuple[float, str]]
) -> bool:
    """Whether `handler` took the lines as one text (or reported its failure to format them)."""
    formatter = handler.formatter
    if not isinstance(handler, BatchedStreamHandler) or not isinstance(formatter, StampFormatter):
        return False
    try:
        texts = formatter.format_lines(shared, lines)
    except RecursionError:
        raise
    except Exception:  # noqa: BLE001 - as StreamHandler.emit: handleError reports it
        handler.handleError(shared)
        return True
    if texts is None:
        return False
    handler.emit_texts(texts, shared)
    return True


def _emit_all(handler: logging.Handler, records: list[logging.LogRecord]) -> None:
    handler.acquire()
    try:
        for record in records:
            handler.emit(record)
    finally:
        handler.release()


@contextlib.contextmanager
def batched(logger: logging.Logger) -> Iterator[None]:
    """Flush the BatchedStreamHandlers that `logger`'s records reach once, at the end of a batch."""
    handlers = []
    current: logging.Logger | None = logger
    while current is not None:
        handlers += [h for h in current.handlers if isinstance(h, BatchedStreamHandler)]
        current = current.parent if current.propagate else None
    for handler in handlers:
        handler.batching = True
    try:
        yield
    finally:
        for handler in handlers:
            handler.batching = False
            handler.flush()


class AccessLog:
    """Lines queued by `record` are logged within `interval`, and all of them by `close`."""

    def __init__(self, interval: float = 0.1, max_lines: int = 100_000):
        self._lines: collections.deque = collections.deque()
        # a stream that blocks (a full pipe nobody reads) must not grow memory without bound
        self._max_lines = max_lines
        self.dropped = 0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self._stamp: tuple[int, str] = (0, "")

    def start(self) -> None:
        self._thread.start()

    def record(self, address: str, method: bytes, target: bytes, version: bytes, status: int, size: int):
        if len(self._lines) >= self._max_lines:
            self.dropped += 1
            return
        self._lines.append((time.time(), address, method, target, version, status, size))

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.flush()

    def flush(self) -> None:
        lines = self._lines
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            logging.getLogger("powerctl.httpd").warning(
                "%d access lines dropped: the access log's stream did not keep up", dropped
            )
        if not lines:
            return
        if not log.isEnabledFor(logging.INFO):
            lines.clear()
            return
        shared = log.makeRecord(log.name, logging.INFO, __file__, 0, FORMAT, (), None).__dict__
        records = []
        while lines:
            at, address, method, target, version, status, size = lines.popleft()
            entry = stamped(shared, at)
            entry.args = (
                address,
                self._when(at),
                method.decode("ascii"),
                target.decode("latin-1"),
                version.decode("ascii"),
                status,
                size,
            )
            records.append(entry)
        handle_all(log, records)

    def _when(self, at: float) -> str:
        second = int(at)
        if self._stamp[0] != second:
            self._stamp = (second, time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(second)))
        return self._stamp[1]

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # a failing handler must not end the access log
                logging.getLogger("powerctl.httpd").exception("could not write access lines")
