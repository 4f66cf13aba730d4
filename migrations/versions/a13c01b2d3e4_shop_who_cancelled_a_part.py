"""shop: who cancelled a part (buyer, vendor, bureau, system), for a truthful timeline

Parts cancelled before this revision keep NULL: the buyer's page then falls back to a
neutral label.

Revision ID: a13c01b2d3e4
Revises: f3f37c39c717
Create Date: 2026-11-30 22:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a13c01b2d3e4'
down_revision = 'f3f37c39c717'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_by', sa.String(length=10), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f('ck_shipments_cancelled_by'),
            "cancelled_by IN ('buyer', 'vendor', 'bureau', 'system')",
        )


def downgrade():
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_shipments_cancelled_by'), type_='check')
        batch_op.drop_column('cancelled_by')
