"""The synced credentials are replaced whole, in one transaction on the real SQLite file."""

from __future__ import annotations

import os
import stat

import pytest

from powerctl.store import ClientRecord, Database
from powerctl.store import fleet as store
from tests.fleet.support import CLIENT_RAW, CLIENT_UUID, OTHER_UUID, PEER_TOKEN, PEER_UUID, sha256

PEERS = {PEER_UUID: ("fleet", [PEER_TOKEN])}


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "powerctl.db")
    yield database
    database.close()


def tokens(db: Database) -> list[tuple]:
    return (
        db.connection()
        .execute("SELECT client, hash, peer FROM fleet_tokens ORDER BY client, hash")
        .fetchall()
    )


def test_replace_drops_what_the_bundle_no_longer_lists(db):
    store.replace(db, 1, {CLIENT_UUID: [sha256(CLIENT_RAW)], OTHER_UUID: ["a" * 64]}, PEERS, [])
    store.replace(db, 2, {OTHER_UUID: ["B" * 64]}, {}, [])
    assert tokens(db) == [(OTHER_UUID, "b" * 64, 0)]
    assert store.find_token(db, CLIENT_UUID, sha256(CLIENT_RAW)) is None
    assert store.peer_tokens(db) == {} and store.held_version(db) == 2


def test_local_clients_are_never_touched(db):
    db.put_client(ClientRecord("lab", "lab", ("/?access=get",), {}, {}, {"c" * 64: {}}, 0))
    store.replace(db, 1, {CLIENT_UUID: ["a" * 64]}, PEERS, [])
    store.replace(db, 2, {}, {}, [])
    assert db.find_token("lab", "c" * 64) is not None
    assert db.client_ids() == ["lab"]


def test_other_connections_see_all_of_the_old_or_all_of_the_new(db, tmp_path):
    store.replace(db, 1, {CLIENT_UUID: ["a" * 64]}, PEERS, [])
    reader = Database(tmp_path / "powerctl.db")  # a second connection, as another process has
    seen = []

    def look() -> None:
        seen.append((tokens(reader), store.held_version(reader)))

    store.replace(db, 2, {OTHER_UUID: ["b" * 64]}, {}, [], before_commit=look)
    look()
    assert seen[0] == ([(CLIENT_UUID, "a" * 64, 0), (PEER_UUID, sha256(PEER_TOKEN.encode()), 1)], 1)
    assert seen[1] == ([(OTHER_UUID, "b" * 64, 0)], 2)
    reader.close()


def test_a_failure_before_commit_changes_nothing(db):
    store.replace(db, 1, {CLIENT_UUID: ["a" * 64]}, PEERS, [("c", "k", "p")])
    before = (tokens(db), store.peer_tokens(db), store.certificates(db), store.held_version(db))

    def fail() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        store.replace(db, 2, {}, {}, [("c2", "k2", "p2")], before_commit=fail)
    assert (tokens(db), store.peer_tokens(db), store.certificates(db), store.held_version(db)) == before


def test_stale_version_is_refused_and_equal_is_applied(db):
    store.replace(db, 7, {CLIENT_UUID: ["a" * 64]}, {}, [])
    with pytest.raises(store.StaleBundle):
        store.replace(db, 6, {}, {}, [])
    store.replace(db, 7, {CLIENT_UUID: ["b" * 64]}, {}, [])
    assert tokens(db) == [(CLIENT_UUID, "b" * 64, 0)]


def test_every_replace_bumps_the_credentials_generation(db):
    before = db.credentials.value()
    store.replace(db, 1, {}, {}, None)
    assert db.credentials.value() == before + 1


def test_none_keeps_the_certificates_held(db):
    store.replace(db, 1, {}, {}, [("c", "k", "p"), ("c2", "k2", "p2")])
    store.replace(db, 2, {}, {}, None)
    assert store.certificates(db) == [("c", "k", "p"), ("c2", "k2", "p2")]


def test_peer_tokens_live_only_in_the_private_database(db, tmp_path):
    store.replace(db, 1, {}, PEERS, [])
    assert store.peer_tokens(db) == {PEER_UUID: ("fleet", [PEER_TOKEN])}
    assert stat.S_IMODE(os.stat(tmp_path / "powerctl.db").st_mode) == 0o600
    record = store.find_token(db, PEER_UUID, sha256(PEER_TOKEN.encode()))
    assert record is not None and record.kind == "peer" and record.client_name == "peer fleet"
