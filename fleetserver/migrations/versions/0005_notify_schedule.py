"""Each controller's notification schedule: when the next attempt is due, failures in a row.

`next_notify_at` is both the queue and the lease: a fleet-server instance claims a due row by
moving it a lease ahead, so several instances on one database never notify the same version
twice, and a dead instance's claims come due again when the lease ends. Controllers that lag
their version are due at once.

Revision ID: 0005
Revises: 0004
"""

import datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("controllers", sa.Column("next_notify_at", sa.DateTime(timezone=True)))
    op.add_column("controllers", sa.Column("last_notify_at", sa.DateTime(timezone=True)))
    op.add_column("controllers", sa.Column("notify_failures", sa.Integer, nullable=False, server_default="0"))
    op.create_index("controllers_notify_due", "controllers", ["next_notify_at"])
    controllers = sa.table(
        "controllers",
        sa.column("next_notify_at", sa.DateTime(timezone=True)),
        sa.column("notify_url"),
        sa.column("denied_at"),
        sa.column("version"),
        sa.column("notified_version"),
    )
    lagging = (
        controllers.c.denied_at.is_(None)
        & controllers.c.notify_url.is_not(None)
        & (
            controllers.c.notified_version.is_(None)
            | (controllers.c.notified_version < controllers.c.version)
        )
    )
    op.get_bind().execute(
        controllers.update().where(lagging).values(next_notify_at=datetime.datetime.now(datetime.UTC))
    )


def downgrade() -> None:
    with op.batch_alter_table("controllers") as batch:
        batch.drop_index("controllers_notify_due")
        batch.drop_column("notify_failures")
        batch.drop_column("last_notify_at")
        batch.drop_column("next_notify_at")
