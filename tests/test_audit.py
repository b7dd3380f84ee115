"""The audit trail: lines reach the log with their own time and the store in order, none lost."""

from __future__ import annotations

import io
import logging
import time

import pytest

from powerctl.audit import Audit
from powerctl.store import Database
from powerctl.store import roles as role_store


def test_lines_are_logged_and_stored_in_order_with_the_time_they_were_recorded(tmp_path, caplog):
    db = Database(tmp_path / "powerctl.db")
    trail = Audit(db, interval=3600)  # only explicit flushes
    try:
        with caplog.at_level(logging.INFO, logger="powerctl.audit"):
            trail.record("access allowed for admin (admin@127.0.0.1, digest)")
            trail.record("Outlet 4: Configured state set to Off by user admin from 127.0.0.1")
            assert caplog.records == []  # recording only queues
            trail.flush()
        assert [r.getMessage() for r in caplog.records] == [
            "access allowed for admin (admin@127.0.0.1, digest)",
            "Outlet 4: Configured state set to Off by user admin from 127.0.0.1",
        ]
        stored = db.audit_tail(10)
        assert [line for _, line in stored][-2:] == [r.getMessage() for r in caplog.records]
        assert [at for at, _ in stored][-2:] == [r.created for r in caplog.records]
    finally:
        trail.close()


def test_each_line_is_its_own_record_formatted_with_its_own_time(tmp_path):
    """Records of one batch share their making but not their text or time; % is not a format."""
    db = Database(tmp_path / "powerctl.db")
    trail = Audit(db, interval=3600)
    logger = logging.getLogger("powerctl.audit")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        trail.record("Outlet 1: name set to '100% %s' by user admin from 127.0.0.1")
        trail.record("access denied for 127.0.0.1: bad digest credentials")
        trail.flush()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        trail.close()
    formatter = logging.Formatter("%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s")
    lines = [formatter.format(record) for record in records]
    assert [line.split(" ", 2)[2] for line in lines] == [
        "INFO powerctl.audit: Outlet 1: name set to '100% %s' by user admin from 127.0.0.1",
        "INFO powerctl.audit: access denied for 127.0.0.1: bad digest credentials",
    ]
    first, second = records
    assert first.created <= second.created
    assert first.msecs == (first.created % 1) * 1000
    assert second.relativeCreated - first.relativeCreated == pytest.approx(
        (second.created - first.created) * 1000
    )


def test_a_line_that_is_not_utf8_text_is_escaped_and_costs_no_other_line(tmp_path):
    db = Database(tmp_path / "powerctl.db")
    trail = Audit(db, interval=3600)
    try:
        trail.record("before")
        trail.record("Outlet 1: name set to \ud800 by user admin")
        trail.record("after")
        assert trail.tail(3) == ["before", "Outlet 1: name set to \\ud800 by user admin", "after"]
    finally:
        trail.close()


def test_a_change_and_its_line_are_stored_in_one_transaction_or_not_at_all(tmp_path, caplog):
    db = Database(tmp_path / "powerctl.db")
    trail = Audit(db, interval=3600)
    try:
        with caplog.at_level(logging.INFO, logger="powerctl.audit"):
            with trail.change("Role viewonly set by user admin") as lines:
                role_store.put_role(db, "viewonly", (), "")
                lines.append("and a second line")
            # stored at commit, before any flush; logged by the writer afterwards
            assert [line for _, line in db.audit_tail(2)] == [
                "Role viewonly set by user admin",
                "and a second line",
            ]
            assert caplog.records == []
            with pytest.raises(RuntimeError), trail.change("Role other set by user admin"):
                role_store.put_role(db, "other", (), "")
                raise RuntimeError("the change failed midway")
            trail.flush()
        assert role_store.role_names(db) == ["viewonly"]
        assert [r.getMessage() for r in caplog.records] == [
            "Role viewonly set by user admin",
            "and a second line",
        ]
        assert trail.tail(10) == ["Role viewonly set by user admin", "and a second line"]
    finally:
        trail.close()


def test_a_failed_inner_transaction_is_undone_alone(tmp_path):
    db = Database(tmp_path / "powerctl.db")
    try:
        with db.transaction():
            role_store.put_role(db, "kept", (), "")
            with pytest.raises(RuntimeError), db.transaction():
                role_store.put_role(db, "undone", (), "")
                raise RuntimeError
        assert role_store.role_names(db) == ["kept"]
    finally:
        db.close()


def test_repeated_denials_from_one_address_are_one_line_and_a_count_per_interval(tmp_path):
    db = Database(tmp_path / "powerctl.db")
    trail = Audit(db, interval=3600, coalesce=0.3, addresses=2)
    try:
        for i in range(5):
            trail.denied("10.0.0.9", f"access denied for 10.0.0.9: attempt {i}")
        trail.denied("10.0.0.8", "access denied for 10.0.0.8: attempt 0")
        assert trail.tail(10) == [
            "access denied for 10.0.0.9: attempt 0",
            "access denied for 10.0.0.8: attempt 0",
        ]
        trail.denied("10.0.0.7", "access denied for 10.0.0.7: attempt 0")  # a third address: "others"
        trail.denied("10.0.0.6", "access denied for 10.0.0.6: attempt 0")
        time.sleep(0.35)
        trail.denied("10.0.0.9", "access denied for 10.0.0.9: attempt 5")  # a new interval
        lines = trail.tail(10)
        full = [line for line in lines if " more time" not in line]
        assert full == [
            "access denied for 10.0.0.9: attempt 0",
            "access denied for 10.0.0.8: attempt 0",
            "access denied for 10.0.0.7: attempt 0",
            "access denied for 10.0.0.9: attempt 5",
        ]
        # each count is stamped with the time of the last denial it counts
        assert [line for line in lines if " more time" in line] == [
            "access denied for 10.0.0.9: 4 more times in 0 s"
            " (the last: access denied for 10.0.0.9: attempt 4)",
            "access denied for other addresses: 1 more time in 0 s"
            " (the last: access denied for 10.0.0.6: attempt 0)",
        ]
    finally:
        trail.close()
    assert [line for _, line in db.audit_tail(10)][-1] == "access denied for 10.0.0.9: attempt 5"


def test_a_line_recorded_before_a_flush_is_stored_when_it_returns_though_the_writer_flushes_too(tmp_path):
    """The writer thread may have taken the line from the queue: flush waits for its batch."""
    db = Database(tmp_path / "powerctl.db")
    trail = Audit(db, interval=0.0001)  # the writer flushes all the time
    try:
        for i in range(2000):
            trail.record(f"Outlet 1: Configured state set to On by line {i}")
            time.sleep(0.0002)  # the writer wakes and takes the line
            trail.flush()
            assert db.audit_tail(1)[-1][1].endswith(f"line {i}"), i
    finally:
        trail.close()


def test_the_servers_stderr_log_reads_as_logging_formatter_writes_it_and_a_batch_is_flushed_once():
    """`powerctl serve` formats audit lines' times once a second and flushes once a batch:
    the same text as logging.Formatter, every line in the stream when the batch is done."""
    import io

    from powerctl.httpd import BatchedStreamHandler, StampFormatter, batched

    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    plain, stamped = logging.Formatter(fmt), StampFormatter(fmt)
    now = time.time()
    for delta in (0, 0.001, 0.5, 0.9999, 1.2, 3600.7, -86400.3):
        record = logging.LogRecord("powerctl.audit", logging.INFO, __file__, 0, "a line", (), None)
        record.created, record.msecs = now + delta, ((now + delta) % 1) * 1000
        assert stamped.format(record) == plain.format(record)

    class Counting(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            self.flushes += 1

    stream = Counting()
    handler = BatchedStreamHandler(stream)
    handler.setFormatter(stamped)
    parent, child = logging.getLogger("batchtest"), logging.getLogger("batchtest.audit")
    parent.addHandler(handler)
    parent.setLevel(logging.INFO)
    try:
        with batched(child):
            for n in range(3):
                child.info("line %d", n)
            assert stream.flushes == 0
        assert stream.flushes == 1
        assert [line.split(": ", 1)[1] for line in stream.getvalue().splitlines()] == [
            "line 0",
            "line 1",
            "line 2",
        ]
        child.info("alone")
        assert stream.flushes == 2  # outside a batch, each record is flushed as StreamHandler does
    finally:
        parent.removeHandler(handler)


# how the loggers and handlers of _logged_both_ways are set up
SETUPS = [
    "plain",
    "handler level",
    "handler filter",
    "logger filter",
    "no propagation",
    "disabled",
    "no handler",
]


def _logged_both_ways(setup, capsys, formatters, filtered: int, send) -> tuple[list[str], list[str]]:
    """What two handlers (a BatchedStreamHandler on a parent logger, a StreamHandler on its
    child, with `formatters`) and logging's last resort receive under `setup`: first when
    `send(logger, level, False)` logs record by record, then when `send(logger, level, True)`
    hands over a batch. A "handler filter" setup filters handler number `filtered`."""
    from powerctl.httpd import BatchedStreamHandler

    def configure(name: str) -> tuple[logging.Logger, list[io.StringIO]]:
        parent, child = logging.getLogger(f"{name}.p"), logging.getLogger(f"{name}.p.c")
        streams = [io.StringIO(), io.StringIO()]
        handlers = [BatchedStreamHandler(streams[0]), logging.StreamHandler(streams[1])]
        for handler, formatter in zip(handlers, formatters, strict=True):
            handler.setFormatter(formatter)
        parent.handlers, child.handlers = [handlers[0]], [handlers[1]]
        parent.setLevel(logging.INFO)
        child.propagate, child.disabled, child.filters = True, False, []
        if setup == "handler level":
            handlers[0].setLevel(logging.WARNING)
        elif setup == "handler filter":
            handlers[filtered].addFilter(lambda record: "keep" in record.getMessage())
        elif setup == "logger filter":
            child.addFilter(lambda record: "keep" in record.getMessage())
        elif setup == "no propagation":
            child.propagate = False
        elif setup == "disabled":
            child.disabled = True
        elif setup == "no handler":  # logging's last resort (stderr) takes the warnings
            child.handlers, child.propagate = [], False
        return child, streams

    expected: list[str] = []
    got: list[str] = []
    for name, out in (("bothways.ref", expected), ("bothways.new", got)):
        logger, streams = configure(name)
        try:
            for level in (logging.INFO, logging.WARNING):
                send(logger, level, out is got)
            out += [stream.getvalue().replace(name, "NAME") for stream in streams]
            out.append(capsys.readouterr().err.replace(name, "NAME"))  # logging's last resort
        finally:
            for each in (logger, logger.parent):
                each.handlers, each.filters, each.disabled, each.propagate = [], [], False, True
    return expected, got


@pytest.mark.parametrize("setup", SETUPS)
def test_a_batch_reaches_the_handlers_and_text_that_logging_gives_record_by_record(setup, capsys):
    """handle_all (how the audit and access logs hand over a batch) gives each handler what
    logger.handle() would, record by record: levels, filters, propagation and all."""
    from powerctl.httpd.accesslog import handle_all

    def send(logger: logging.Logger, level: int, batch: bool) -> None:
        records = [
            logger.makeRecord(logger.name, level, __file__, 0, "line %d %s", (n, word), None)
            for n, word in enumerate(["keep", "drop", "keep"])
        ]
        if batch:
            handle_all(logger, records)
        else:
            for record in records:
                logger.handle(record)

    plain = logging.Formatter("%(levelname)s %(name)s %(message)s")
    expected, got = _logged_both_ways(setup, capsys, [plain, plain], 1, send)
    assert got == expected
    assert any(expected) or setup == "disabled"


@pytest.mark.parametrize(
    ("fmt", "options", "at_once"),
    [
        ("%(asctime)s %(levelname)s %(name)s: %(message)s", {}, True),  # `powerctl serve`'s
        ("%(message)s", {}, True),
        ("[%(process)d] 100%% %(message)s, at %(asctime)s (%(levelname)-8s)", {}, True),
        ("%(asctime)s %(who)s %(message)s %(asctime)s", {"defaults": {"who": "%(x)s"}}, True),
        ("%(asctime)s.%(msecs)03d %(message)s", {}, False),
        ("%(message)20s|", {}, False),
        ("%(relativeCreated)d %(message)s", {}, False),
        ("%(asctime)s %(message)s", {"datefmt": "%H:%M"}, False),
        ("{asctime} {message}", {"style": "{"}, False),
    ],
)
def test_a_batch_written_at_once_reads_as_logging_formatter_writes_each_line(fmt, options, at_once):
    """log_lines (how the audit writer logs a batch) gives a stream handler of `powerctl serve`
    the batch's text without a record a line: the text logging.Formatter gives each line's own
    record, whatever the format; formats it cannot fill so take the record-by-record path."""
    from powerctl.httpd import BatchedStreamHandler, StampFormatter
    from powerctl.httpd.accesslog import log_lines, stamped

    now = time.time()
    lines = [
        (now + delta, message)
        for delta, message in [
            (0, "plain"),
            (0.0004, "100% %s %(asctime)s {0} done"),
            (0.9999, "Outlet 1: name set to 'Ä €' by user admin"),
            (1.25, ""),
            (3600.7, "an hour on"),
        ]
    ]
    logger = logging.getLogger("batchlines.c")
    shared = logger.makeRecord(logger.name, logging.INFO, __file__, 0, "", (), None)
    expected = []
    for at, message in lines:
        record = stamped(shared.__dict__, at)
        record.msg = message
        expected.append(logging.Formatter(fmt, **options).format(record))

    formatter = StampFormatter(fmt, **options)
    assert (formatter.format_lines(shared, lines) is not None) is at_once
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream)
    handler.setFormatter(formatter)
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.INFO
    try:
        log_lines(logger, shared, lines)
    finally:
        logger.handlers, logger.propagate, logger.level = [], True, logging.NOTSET
    assert stream.getvalue() == "".join(line + "\n" for line in expected)


@pytest.mark.parametrize("setup", SETUPS)
def test_lines_logged_at_once_reach_the_handlers_that_logging_gives_each_record(setup, capsys):
    """log_lines gives every handler what logger.handle() would give each line's record:
    levels, filters, propagation and logging's last resort, beside a handler written at once."""
    from powerctl.httpd import StampFormatter
    from powerctl.httpd.accesslog import log_lines, stamped

    now = time.time()
    lines = [(now + n * 0.3, f"line {n} {word}") for n, word in enumerate(["keep", "drop", "keep"])]

    def send(logger: logging.Logger, level: int, batch: bool) -> None:
        shared = logger.makeRecord(logger.name, level, __file__, 0, "", (), None)
        if batch:
            log_lines(logger, shared, lines)
            return
        for at, message in lines:
            record = stamped(shared.__dict__, at)
            record.msg = message
            logger.handle(record)

    fmt = "%(asctime)s %(levelname)s %(name)s %(message)s"
    expected, got = _logged_both_ways(setup, capsys, [StampFormatter(fmt), logging.Formatter(fmt)], 0, send)
    assert got == expected
    assert any(expected) or setup == "disabled"


class _CountingSink(io.RawIOBase):
    """A file that counts the writes reaching it (each one a syscall on a real descriptor)."""

    def __init__(self, fail: bool = False):
        self.writes, self.data, self.fail = 0, b"", fail

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.fail:
            raise BrokenPipeError("the reader went away")
        self.writes += 1
        self.data += bytes(data)
        return len(data)


def test_a_batch_reaches_a_line_buffered_stream_in_one_write():
    """stderr is line-buffered (unbuffered under PYTHONUNBUFFERED): a batch of audit lines
    still reaches it as one write, not one a line, each line formatted as its own record."""
    from powerctl.httpd import BatchedStreamHandler, batched

    for buffering in ("line", "none"):
        sink = _CountingSink()
        if buffering == "line":
            stream = io.TextIOWrapper(io.BufferedWriter(sink), line_buffering=True)
        else:
            stream = io.TextIOWrapper(sink, write_through=True)
        handler = BatchedStreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        logger = logging.getLogger("batchtest.lines")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        try:
            with batched(logger):
                for n in range(50):
                    logger.info("line %d", n)
                assert sink.writes == 0
            assert sink.writes == 1, buffering
            assert sink.data.decode().splitlines() == [f"INFO line {n}" for n in range(50)]
            logger.info("alone")
            assert sink.writes == 2
        finally:
            logger.removeHandler(handler)


def test_a_failing_stderr_costs_no_stored_line(tmp_path):
    """A log stream that cannot be written (a closed pipe) is reported as logging reports it;
    the batch's lines are still stored."""
    from powerctl.httpd import BatchedStreamHandler

    db = Database(tmp_path / "powerctl.db")
    trail = Audit(db, interval=3600)
    logger = logging.getLogger("powerctl.audit")
    handler = BatchedStreamHandler(io.TextIOWrapper(_CountingSink(fail=True), write_through=True))
    saved = logger.handlers, logger.propagate, logger.level, logging.raiseExceptions
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.INFO
    logging.raiseExceptions = False  # handleError stays quiet, as in production
    try:
        for n in range(3):
            trail.record(f"access allowed for c{n} (c{n}@127.0.0.1, bearer)")
        trail.flush()
        assert [line for _, line in db.audit_tail(3)] == [
            f"access allowed for c{n} (c{n}@127.0.0.1, bearer)" for n in range(3)
        ]
    finally:
        logger.handlers, logger.propagate, logger.level, logging.raiseExceptions = saved
        trail.close()


def test_a_large_batch_is_stored_whole_in_order(tmp_path):
    """Lines are inserted many to a statement: a batch longer than one statement holds (450
    access lines and 450 events, interleaved) is stored whole, each table in recorded order."""
    db = Database(tmp_path / "powerctl.db")
    trail = Audit(db, interval=3600)
    try:
        for n in range(450):
            trail.record(f"access allowed for c{n} (c{n}@127.0.0.1, bearer)")
            trail.record(f"Outlet 1: state set to On, event {n}", subject="relay/outlets/0", n=n)
        trail.flush()
        rows = db.connection().execute("SELECT line FROM audit ORDER BY id").fetchall()
        assert [line for (line,) in rows] == [
            f"access allowed for c{n} (c{n}@127.0.0.1, bearer)" for n in range(450)
        ]
        rows = (
            db.connection().execute("SELECT line, subject, fields FROM audit_events ORDER BY id").fetchall()
        )
        assert rows == [
            (f"Outlet 1: state set to On, event {n}", "relay/outlets/0", f'{{"n":{n}}}') for n in range(450)
        ]
    finally:
        trail.close()
