"""Between syncs, an expired current[0] gives way to the next held certificate."""

from __future__ import annotations

import datetime

from powerctl.fleet import rotation
from powerctl.store import fleet as store
from tests.fleet.support import entry, result

DAY = datetime.timedelta(days=1)


def served(service) -> str:
    return (service.data_dir / "tls" / "fleet" / "server.pem").read_text()


def test_expired_current_certificate_rotates_to_the_next(service, responder, ca):
    now = datetime.datetime.now(datetime.UTC)
    first = entry(ca, "first")  # valid 30 days
    later = ca.issue("second", days=60)
    second = {"certificate": later.cert_pem, "private": later.key_pem, "public_parent": ca.cert_pem}
    responder.answer = result(1, ca, current=[first, second])
    service.sync("test")
    assert first["certificate"].strip() in served(service)
    assert rotation.next_due(service.db, now) is not None
    service.rotate(now + DAY)  # not yet expired: nothing happens
    assert store.certificates(service.db)[0][0] == first["certificate"]
    service.rotate(now + 31 * DAY)
    assert second["certificate"].strip() in served(service)
    assert [c[0] for c in store.certificates(service.db)] == [second["certificate"]]
    assert "current[1] now served" in service.lines[-1]
    assert store.held_version(service.db) == 1  # credentials untouched


def test_no_valid_next_certificate_keeps_the_current_one(service, responder, ca):
    now = datetime.datetime.now(datetime.UTC)
    responder.answer = result(1, ca, current=[entry(ca), entry(ca)])  # both end in 30 days
    service.sync("test")
    before = served(service)
    service.rotate(now + 31 * DAY)
    assert served(service) == before and len(store.certificates(service.db)) == 2
    assert rotation.next_due(service.db, now + 31 * DAY) is None  # no busy wake-ups
