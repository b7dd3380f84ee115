"""A bad answer is refused whole: nothing changes, the error is recorded and audited."""

from __future__ import annotations

import copy

import pytest

from powerctl.fleet import BundleRefused, RemoteError, SyncError, Unreachable
from powerctl.store import fleet as store
from tests.fleet.support import CLIENT_UUID, PEER_UUID, entry, make_ca, result


def snapshot(service) -> tuple:
    db, pem = service.db, service.data_dir / "tls" / "fleet" / "server.pem"
    return (
        store.held_version(db),
        db.connection().execute("SELECT * FROM fleet_tokens ORDER BY client, hash").fetchall(),
        store.peer_tokens(db),
        store.certificates(db),
        pem.read_text() if pem.exists() else None,
    )


def edit(path: str, value):
    """A change to a good result at a dotted path; `...` deletes the key."""

    def change(good: dict) -> dict:
        bad = copy.deepcopy(good)
        *parents, last = path.split(".")
        target = bad
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if value is ...:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
        return bad

    return change


MALFORMED = [
    ("clients missing", edit("clients", ...), "clients"),
    ("peers missing", edit("peers", ...), "peers"),
    ("current missing", edit("current", ...), "current"),
    ("version missing", edit("version", ...), "version"),
    ("version a string", edit("version", "7"), "version"),
    ("version negative", edit("version", -1), "version"),
    ("version a boolean", edit("version", True), "version"),
    ("version a float", edit("version", 6.5), "version"),
    ("unknown field", edit("extra", 1), "extra"),
    ("client id not a UUID", lambda g: {**g, "clients": {"lab": ["0" * 64]}}, "clients"),
    ("client hashes not a list", edit(f"clients.{CLIENT_UUID}", "0" * 64), "clients"),
    ("client hash not hex", edit(f"clients.{CLIENT_UUID}", ["z" * 64]), "SHA-256"),
    ("client hash short", edit(f"clients.{CLIENT_UUID}", ["0" * 63]), "SHA-256"),
    ("peer without id", edit(f"peers.{PEER_UUID}.id", ...), "id"),
    ("peer tokens not a list", edit(f"peers.{PEER_UUID}.tokens", "tok"), "tokens"),
    ("peer token too long", edit(f"peers.{PEER_UUID}.tokens", ["x" * 513]), "tokens"),
    ("peer token empty", edit(f"peers.{PEER_UUID}.tokens", [""]), "tokens"),
    ("peer id not a UUID", lambda g: {**g, "peers": {"fleet": {"id": "f", "tokens": []}}}, "peers"),
    ("certificate missing", edit("current.0.certificate", ...), "certificate"),
    ("private missing", edit("current.0.private", ...), "private"),
    ("public_parent missing", edit("current.0.public_parent", ...), "public_parent"),
    ("certificate not PEM", edit("current.0.certificate", "hello"), "not a PEM certificate"),
    ("private not a key", edit("current.0.private", "hello"), "not an unencrypted PEM"),
    ("current not a list", edit("current", {}), "current"),
]


@pytest.fixture
def applied(service, responder, ca):
    """Version 5 held, with its client, peer and certificate."""
    responder.answer = result(5, ca)
    assert service.sync("test") == 5
    return snapshot(service)


@pytest.mark.parametrize(("case", "change", "named"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_bundle_changes_nothing(service, responder, ca, applied, case, change, named):
    responder.answer = change(result(6, ca))
    with pytest.raises(BundleRefused, match=named):
        service.sync("test")
    assert snapshot(service) == applied
    assert store.status(service.db)["last_error"].startswith(
        "malformed bundle" if "PEM" not in named else "current"
    )
    assert "failed, keeping version 5" in service.lines[-1]


def test_lower_version_changes_nothing(service, responder, ca, applied):
    responder.answer = result(4, ca, clients={})
    with pytest.raises(BundleRefused, match="lower than the version held"):
        service.sync("test")
    assert snapshot(service) == applied


def test_certificate_not_matching_its_key_changes_nothing(service, responder, ca, applied):
    good, other = entry(ca), entry(ca)
    responder.answer = result(6, ca, current=[{**good, "private": other["private"]}])
    with pytest.raises(BundleRefused, match="does not match its private key"):
        service.sync("test")
    assert snapshot(service) == applied


def test_chain_that_does_not_verify_changes_nothing(service, responder, ca, applied):
    forged = make_ca("fleet test CA")  # same name, different key
    responder.answer = result(6, ca, current=[{**entry(forged), "public_parent": ca.cert_pem}])
    with pytest.raises(BundleRefused, match="public_parent does not verify"):
        service.sync("test")
    assert snapshot(service) == applied


def test_a_bad_next_certificate_refuses_the_whole_bundle(service, responder, ca, applied):
    good, other = entry(ca), entry(ca)
    responder.answer = result(6, ca, clients={}, current=[good, {**other, "private": good["private"]}])
    with pytest.raises(BundleRefused, match=r"current\[1\]"):
        service.sync("test")
    assert snapshot(service) == applied


def test_expired_certificate_changes_nothing(service, responder, ca, applied):
    import datetime

    old = ca.issue("old", days=-1, start=datetime.timedelta(days=-3))
    responder.answer = result(
        6, ca, current=[{"certificate": old.cert_pem, "private": old.key_pem, "public_parent": ca.cert_pem}]
    )
    with pytest.raises(BundleRefused, match="expired"):
        service.sync("test")
    assert snapshot(service) == applied


def test_error_answer_and_mismatched_id_change_nothing(service, responder, ca, applied):
    responder.answer = lambda req: {
        "error": {"code": 403, "message": "certificate is REVOKED"},
        "method": req["method"],
        "id": req["id"],
        "result": None,
    }
    with pytest.raises(RemoteError, match="certificate is REVOKED"):
        service.sync("test")
    responder.answer = lambda req: {
        "error": None,
        "method": req["method"],
        "id": "other",
        "result": result(9, ca),
    }
    with pytest.raises(BundleRefused, match="does not match the request"):
        service.sync("test")
    assert snapshot(service) == applied


def test_unreachable_server_keeps_what_is_held(service, responder, applied):
    responder.stop()
    with pytest.raises(Unreachable, match="unreachable"):
        service.sync("test")
    assert snapshot(service) == applied
    status = store.status(service.db)
    assert status["version"] == 5 and "unreachable" in status["last_error"]


def test_request_is_the_reference_call_with_the_client_certificate(service, responder, ca):
    responder.answer = result(3, ca)
    service.sync("test")
    service.sync("test")
    (path, first, peer_cert), (_, second, _) = responder.calls
    assert path == "/rpc" and peer_cert["subject"] == ((("commonName", "controller identity"),),)
    assert set(first) == {"id", "api", "method", "params"}
    assert (first["api"], first["method"], first["params"]) == ("3", "cloud.access_keys_controller_sync", {})
    assert second["params"] == {"version": 3} and first["id"] != second["id"]


def test_an_untrusted_fleet_server_is_not_asked(service, responder, tmp_path):
    (tmp_path / "other-ca.pem").write_text(make_ca().cert_pem)
    service._fleet = {**service._fleet, "ca_file": str(tmp_path / "other-ca.pem")}
    with pytest.raises(SyncError, match="unreachable"):
        service.sync("test")
    assert responder.calls == []


def _leftovers(service) -> list[str]:
    return sorted(p.name for p in (service.data_dir / "tls" / "fleet").glob("*.new"))


def test_a_commit_that_fails_serves_nothing_new(service, responder, ca, applied, monkeypatch):
    """The new certificate is written beside the served one and put in place only after the
    commit: a transaction that fails after writing it leaves the served files as they were."""
    import sqlite3

    from powerctl.fleet import certs

    write = certs.Staged.write

    def write_then_fail(staged) -> None:
        write(staged)  # the new files exist now, inside the open transaction
        assert _leftovers(service) == ["server.pem.new"]  # the chain (parent.pem) is unchanged
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(certs.Staged, "write", write_then_fail)
    responder.answer = result(6, ca, current=[entry(ca, "next")])
    assert not service.try_sync("test")
    assert snapshot(service) == applied
    assert _leftovers(service) == []


def test_a_certificate_held_but_not_put_in_place_is_served_by_reconcile(
    service, responder, ca, applied, monkeypatch
):
    from powerctl.fleet import certs

    def rename_fails(_staged) -> None:
        raise OSError(5, "Input/output error")

    fresh = entry(ca, "fresh")
    monkeypatch.setattr(certs.Staged, "commit", rename_fails)
    responder.answer = result(6, ca, current=[fresh])
    assert service.sync("test") == 6  # the store holds it, and says so in the log
    pem = service.data_dir / "tls" / "fleet" / "server.pem"
    assert fresh["certificate"].strip() not in pem.read_text()
    monkeypatch.undo()
    service.reconcile()  # what the sync thread does at the start of every round
    assert fresh["certificate"].strip() in pem.read_text()
    assert store.certificates(service.db)[0][0] == fresh["certificate"]
