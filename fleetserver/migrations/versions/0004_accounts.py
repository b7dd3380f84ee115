"""Accounts: every controller, CA certificate and certificate has an owner; account tokens;
certificates carry the reference's transfer fields (ownedBy, previousOwnedBy, transferData).

Everything that existed before belongs to the account `default`, which this revision creates.
`account_id` has no foreign key (see models._owner): SQLite adds a column with one only with a
NULL default, and rebuilding the tables instead would cascade into clients and peers.

Revision ID: 0004
Revises: 0003
"""

import datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DEFAULT = "default"
OWNED = ("controllers", "ca_certificates", "certificates")
TRANSFER = (
    ("previous_account_id", sa.String(64)),
    ("transfer_to", sa.String(64)),
    ("transfer_message", sa.Text),
    ("reject_reason", sa.Text),
    ("transfer_date", sa.DateTime(timezone=True)),
    ("accept_date", sa.DateTime(timezone=True)),
    ("reject_date", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    accounts = op.create_table(
        "accounts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.bulk_insert(accounts, [{"id": DEFAULT, "created": datetime.datetime.now(datetime.UTC)}])
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column(
            "account_id", sa.String(64), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("account_tokens_by_account", "account_tokens", ["account_id"])
    for table in OWNED:
        # NOT NULL with a default: the rows there are now are the default account's
        op.add_column(table, sa.Column("account_id", sa.String(64), nullable=False, server_default=DEFAULT))
        op.create_index(f"{table}_by_account", table, ["account_id", "seq"])
    for name, kind in TRANSFER:
        op.add_column("certificates", sa.Column(name, kind))
    op.create_index("certificates_by_transfer_target", "certificates", ["transfer_to"])


def downgrade() -> None:
    # plain DROP COLUMN (SQLite 3.35+), not a batch rebuild: rebuilding `controllers` would
    # cascade into its clients and peers
    op.drop_index("certificates_by_transfer_target", "certificates")
    for table in OWNED:
        op.drop_index(f"{table}_by_account", table)
        op.drop_column(table, "account_id")
    for name, _kind in TRANSFER:
        op.drop_column("certificates", name)
    op.drop_index("account_tokens_by_account", "account_tokens")
    op.drop_table("account_tokens")
    op.drop_table("accounts")
