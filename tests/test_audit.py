"""The audit trail: lines reach the log with their own time and the store in order, none lost."""

from __future__ import annotations

import logging

import pytest

from powerctl.audit import Audit
from powerctl.store import Database


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
