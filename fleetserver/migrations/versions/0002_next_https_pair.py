"""A controller's next HTTPS pair, staged before the current one expires.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("controllers", sa.Column("next_cert_pem", sa.Text))
    op.add_column("controllers", sa.Column("next_key_pem", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("controllers") as batch:
        batch.drop_column("next_key_pem")
        batch.drop_column("next_cert_pem")
