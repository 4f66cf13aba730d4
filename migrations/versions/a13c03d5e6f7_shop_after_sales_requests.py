"""shop: after-sales requests (售后) per vendor part

Revision ID: a13c03d5e6f7
Revises: a13c02c4e5f6
Create Date: 2026-11-30 22:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a13c03d5e6f7'
down_revision = 'a13c02c4e5f6'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'after_sales_requests',
        sa.Column('id', BigId, nullable=False),
        sa.Column('order_id', BigId, nullable=False),
        sa.Column('shipment_id', BigId, nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('quantities', sa.JSON(), nullable=False),
        sa.Column('photos', sa.JSON(), nullable=False),
        sa.Column('return_address', sa.String(length=300), nullable=True),
        sa.Column('return_carrier', sa.String(length=50), nullable=True),
        sa.Column('return_tracking', sa.String(length=60), nullable=True),
        sa.Column('refuse_reason', sa.Text(), nullable=True),
        sa.Column('bureau_note', sa.Text(), nullable=True),
        sa.Column('refund_id', BigId, nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('returned_at', sa.DateTime(), nullable=True),
        sa.Column('escalated_at', sa.DateTime(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('refund', 'return')", name=op.f('ck_after_sales_requests_kind')),
        sa.CheckConstraint(
            "status IN ('open', 'accepted', 'returned', 'refused', 'disputed', 'refunded', 'closed')",
            name=op.f('ck_after_sales_requests_status'),
        ),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_after_sales_requests_order_id_orders'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_after_sales_requests_refund_id_refunds')),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_after_sales_requests_shipment_id_shipments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_after_sales_requests')),
    )
    with op.batch_alter_table('after_sales_requests', schema=None) as batch_op:
        batch_op.create_index('ix_after_sales_requests_status', ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_after_sales_requests_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_after_sales_requests_shipment_id'), ['shipment_id'], unique=False)


def downgrade():
    op.drop_table('after_sales_requests')
