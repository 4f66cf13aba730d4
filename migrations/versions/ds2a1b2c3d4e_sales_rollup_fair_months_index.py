"""sales_rollup: an index of the fair channel's month rows (the dashboard's fair top list)

Revision ID: ds2a1b2c3d4e
Revises: imp1a2b3c4d5
Create Date: 2026-12-01 04:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "ds2a1b2c3d4e"
down_revision = "imp1a2b3c4d5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sales_rollup", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sales_rollup_fair_months",
            ["fair_id", "month", "household_id"],
            unique=False,
            postgresql_include=["amount"],
            postgresql_where=sa.text("span = 'm' AND channel = 'fair'"),
            sqlite_where=sa.text("span = 'm' AND channel = 'fair'"),
        )


def downgrade():
    with op.batch_alter_table("sales_rollup", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_sales_rollup_fair_months",
            postgresql_where=sa.text("span = 'm' AND channel = 'fair'"),
            sqlite_where=sa.text("span = 'm' AND channel = 'fair'"),
        )
