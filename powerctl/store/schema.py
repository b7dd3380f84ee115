"""Schema migrations, applied in order; PRAGMA user_version holds how many have run."""

MIGRATIONS: list[str] = [
    """
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        ha1 TEXT NOT NULL,
        is_admin INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE outlets (
        idx INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        state INTEGER NOT NULL,
        locked INTEGER NOT NULL DEFAULT 0,
        critical INTEGER NOT NULL DEFAULT 0,
        cycle_delay REAL
    );
    CREATE TABLE clients (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        scopes TEXT NOT NULL,
        redirect_urls TEXT NOT NULL,
        refresh_tokens TEXT NOT NULL,
        revision INTEGER NOT NULL
    );
    CREATE TABLE tokens (
        client TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        remaining INTEGER CHECK (remaining IS NULL OR remaining >= 0),
        PRIMARY KEY (client, hash)
    ) WITHOUT ROWID;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        line TEXT NOT NULL
    );
    """,
    # roles for session tokens, the sessions issued (to revoke and to check ownership),
    # and the clients refused after deletion until an admin lifts the denial
    """
    CREATE TABLE roles (
        name TEXT PRIMARY KEY,
        scopes TEXT NOT NULL,
        description TEXT NOT NULL,
        revision INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        jti TEXT PRIMARY KEY,
        sub TEXT NOT NULL,
        role TEXT NOT NULL,
        client TEXT,
        creator TEXT NOT NULL,
        outlets TEXT,
        issued INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_client ON sessions (client, expires);
    CREATE INDEX sessions_by_expiry ON sessions (expires);
    CREATE INDEX sessions_by_creator ON sessions (creator);
    CREATE TABLE denied_clients (
        id TEXT PRIMARY KEY,
        at REAL NOT NULL,
        by TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # credentials synced from a fleet server (docs/fleet.md), kept apart from local clients:
    # client token hashes, peer tokens (plain, to call the peer back), the certificates
    """
    CREATE TABLE fleet_tokens (
        client TEXT NOT NULL,
        hash TEXT NOT NULL,
        peer INTEGER NOT NULL,
        token TEXT,
        PRIMARY KEY (client, hash)
    ) WITHOUT ROWID;
    CREATE TABLE fleet_peers (id TEXT PRIMARY KEY, serial TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE fleet_certificates (
        position INTEGER PRIMARY KEY,
        certificate TEXT NOT NULL,
        private TEXT NOT NULL,
        public_parent TEXT NOT NULL
    );
    """,
    # digest answers already accepted, so that no process of the data directory takes one twice
    """
    CREATE TABLE digest_answers (
        nonce TEXT NOT NULL,
        response TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (nonce, response)
    ) WITHOUT ROWID;
    CREATE INDEX digest_answers_by_age ON digest_answers (at);
    """,
    # a role keeps its id across replacements and a re-created name gets a new one; a session
    # is bound to the id it was issued for, so deleting a role ends its sessions for good
    # (sessions issued before this migration are bound to the role of their name now)
    """
    ALTER TABLE roles ADD COLUMN id INTEGER NOT NULL DEFAULT 0;
    UPDATE roles SET id = revision;
    ALTER TABLE sessions ADD COLUMN role_id INTEGER NOT NULL DEFAULT 0;
    UPDATE sessions SET role_id = coalesce((SELECT id FROM roles WHERE roles.name = sessions.role), 0);
    """,
    # audit lines apart by kind, each table bounded on its own: access decisions (a flood's
    # lines) can never push out the record of a change
    """
    CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        line TEXT NOT NULL
    );
    INSERT INTO audit_events (at, line)
        SELECT at, line FROM audit WHERE NOT (line LIKE 'access %' OR line LIKE 'lockout of %') ORDER BY id;
    DELETE FROM audit WHERE NOT (line LIKE 'access %' OR line LIKE 'lockout of %');
    """,
    # a non-admin user's outlets (DLI's outlet_access): a JSON list of booleans, one per outlet
    """
    ALTER TABLE users ADD COLUMN outlet_access TEXT NOT NULL DEFAULT '[]';
    """,
    # meter history (docs/history.md): meters by a small id, then one row per sample (step 0)
    # or per mean over `step` seconds (60, 900); and the subject and fields of an audit event,
    # so an outlet's switch history is read from the trail without parsing its lines
    """
    CREATE TABLE meters (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE meter_history (
        step INTEGER NOT NULL,
        meter INTEGER NOT NULL,
        t INTEGER NOT NULL,
        value REAL NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (step, meter, t)
    ) WITHOUT ROWID;
    ALTER TABLE audit_events ADD COLUMN subject TEXT;
    ALTER TABLE audit_events ADD COLUMN fields TEXT;
    CREATE INDEX audit_events_by_subject ON audit_events (subject, id) WHERE subject IS NOT NULL;
    """,
    # AutoPing items (docs/autoping.md): what each watches and does (spec), in array order, and
    # what it has seen (state: status, arming progress, counters), kept across restarts
    """
    CREATE TABLE autoping_items (
        position INTEGER PRIMARY KEY,
        uid INTEGER NOT NULL UNIQUE,
        spec TEXT NOT NULL,
        state TEXT NOT NULL
    );
    """,
]
