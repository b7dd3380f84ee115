"""Admin tokens get an id (to list and revoke them by), a source and a label.

Tokens from before were all added from the environment or generated once; they are counted as
the environment's, so the next start with POWERCTL_FLEET_ADMIN_TOKEN set replaces them.

Revision ID: 0003
Revises: 0002
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admin_tokens") as batch:
        batch.add_column(sa.Column("id", sa.String(16)))
        batch.add_column(sa.Column("source", sa.String(16)))
        batch.add_column(sa.Column("label", sa.String(64)))
    tokens = sa.table("admin_tokens", sa.column("token_hash"), sa.column("id"), sa.column("source"))
    connection = op.get_bind()
    for (digest,) in connection.execute(sa.select(tokens.c.token_hash)).all():
        connection.execute(
            tokens.update()
            .where(tokens.c.token_hash == digest)
            .values(id=secrets.token_hex(8), source="environment")
        )
    with op.batch_alter_table("admin_tokens") as batch:
        batch.alter_column("id", existing_type=sa.String(16), nullable=False)
        batch.alter_column("source", existing_type=sa.String(16), nullable=False)
        batch.create_index("admin_tokens_by_id", ["id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("admin_tokens") as batch:
        batch.drop_index("admin_tokens_by_id")
        batch.drop_column("label")
        batch.drop_column("source")
        batch.drop_column("id")
