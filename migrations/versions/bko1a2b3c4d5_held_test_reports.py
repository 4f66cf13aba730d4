"""catalog: test reports held for the vendor after an application error

Revision ID: bko1a2b3c4d5
Revises: ee0be933d2a4
Create Date: 2026-11-30 23:59:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'bko1a2b3c4d5'
down_revision = 'ee0be933d2a4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('held_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=100), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_held_reports_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_held_reports')),
    sa.UniqueConstraint('token', name=op.f('uq_held_reports_token'))
    )
    with op.batch_alter_table('held_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_held_reports_org_id'), ['org_id'], unique=False)


def downgrade():
    with op.batch_alter_table('held_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_held_reports_org_id'))

    op.drop_table('held_reports')
