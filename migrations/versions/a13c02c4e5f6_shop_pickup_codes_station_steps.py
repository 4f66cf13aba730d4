"""shop: pick-up codes, arrival at the station (at_station), pick-up point staff

Revision ID: a13c02c4e5f6
Revises: a13c01b2d3e4
Create Date: 2026-11-30 22:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a13c02c4e5f6'
down_revision = 'a13c01b2d3e4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'pickup_point_staff',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('pickup_point_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['pickup_point_id'], ['pickup_points.id'], name=op.f('fk_pickup_point_staff_pickup_point_id_pickup_points'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pickup_point_staff_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pickup_point_staff')),
        sa.UniqueConstraint('pickup_point_id', 'user_id', name=op.f('uq_pickup_point_staff_pickup_point_id_user_id')),
    )
    with op.batch_alter_table('pickup_point_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pickup_point_staff_pickup_point_id'), ['pickup_point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pickup_point_staff_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pickup_code', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('arrived_at', sa.DateTime(), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_shipments_status'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_shipments_status'),
            "status IN ('pending', 'shipped', 'at_station', 'received', 'cancelled')",
        )


def downgrade():
    op.execute("UPDATE shipments SET status = 'shipped' WHERE status = 'at_station'")
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_shipments_status'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_shipments_status'),
            "status IN ('pending', 'shipped', 'received', 'cancelled')",
        )
        batch_op.drop_column('arrived_at')
        batch_op.drop_column('pickup_code')
    with op.batch_alter_table('pickup_point_staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pickup_point_staff_user_id'))
        batch_op.drop_index(batch_op.f('ix_pickup_point_staff_pickup_point_id'))
    op.drop_table('pickup_point_staff')
