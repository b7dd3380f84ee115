"""The first schema: settings, admin tokens, controllers, clients, peers, certificates.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "admin_tokens", sa.Column("token_hash", sa.String(64), primary_key=True), _when("created")
    )
    op.create_table(
        "controllers",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("notify_url", sa.String(512)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("fleet_token", sa.String(128), nullable=False),
        sa.Column("server_cert_pem", sa.Text, nullable=False),
        sa.Column("server_key_pem", sa.Text, nullable=False),
        sa.Column("enrolled_key", sa.String(64)),
        _when("denied_at", nullable=True),
        sa.Column("notified_version", sa.Integer),
        sa.Column("notify_error", sa.Text),
        _when("created"),
    )
    op.create_table(
        "client_keys",
        sa.Column(
            "controller_seq",
            sa.Integer,
            sa.ForeignKey("controllers.seq", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("client_uuid", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), primary_key=True),
    )
    op.create_table(
        "peers",
        sa.Column(
            "controller_seq",
            sa.Integer,
            sa.ForeignKey("controllers.seq", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("peer_uuid", sa.String(36), primary_key=True),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("tokens", sa.JSON, nullable=False),
    )
    op.create_table(
        "ca_certificates",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("certificate_id", sa.String(64), nullable=False, unique=True),
        sa.Column("pem", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("auto_registration", sa.Boolean, nullable=False),
        _when("created"),
        _when("modified"),
    )
    op.create_table(
        "certificates",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("certificate_id", sa.String(64), nullable=False, unique=True),
        sa.Column("ca_seq", sa.Integer, sa.ForeignKey("ca_certificates.seq"), nullable=False),
        sa.Column("controller_seq", sa.Integer, sa.ForeignKey("controllers.seq")),
        sa.Column("pem", sa.Text, nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _when("created"),
        _when("modified"),
    )
    op.create_index("certificates_by_ca", "certificates", ["ca_seq", "seq"])
    op.create_index("certificates_by_controller", "certificates", ["controller_seq"])


def downgrade() -> None:
    for table in (
        "certificates",
        "ca_certificates",
        "peers",
        "client_keys",
        "controllers",
        "admin_tokens",
        "settings",
    ):
        op.drop_table(table)
