"""sales_rollup: the attribution rows summed per month and report key (orders/ledger/rollup.py)

Revision ID: prf1a2b3c4d5
Revises: ee0be933d2a4
Create Date: 2026-12-01 00:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'prf1a2b3c4d5'
down_revision = 'ee0be933d2a4'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
KEY = ['month', 'channel', 'product_id', 'vendor_id', 'household_id', 'village_id',
       'certified', 'fair_id', 'buyer_org_id', 'buyer_name']


def upgrade():
    op.create_table('sales_rollup',
    sa.Column('id', BigId, nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('vendor_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('certified', sa.Boolean(), nullable=False),
    sa.Column('fair_id', sa.BigInteger(), nullable=False),
    sa.Column('buyer_org_id', sa.BigInteger(), nullable=False),
    sa.Column('buyer_name', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_rollup'))
    )
    with op.batch_alter_table('sales_rollup', schema=None) as batch_op:
        batch_op.create_index('ux_sales_rollup_key', KEY, unique=True)
        batch_op.create_index('ix_sales_rollup_household', ['household_id', 'month'], unique=False)

    # the sums of the sales already in the ledger
    if op.get_bind().dialect.name == 'postgresql':
        month = "date_trunc('month', a.sale_date)::date"
    else:
        month = "date(a.sale_date, 'start of month')"
    keys = (f"{month}, a.channel, a.product_id, a.vendor_id, coalesce(a.household_id, 0), "
            "coalesce(a.village_id, 0), a.certified, coalesce(o.fair_id, 0), "
            "coalesce(o.buyer_org_id, 0), coalesce(o.buyer_name, '')")
    op.execute(
        f"INSERT INTO sales_rollup ({', '.join(KEY)}, amount) "
        f"SELECT {keys}, sum(a.amount) FROM attributions a JOIN orders o ON o.id = a.order_id "
        f"GROUP BY {keys}"
    )


def downgrade():
    with op.batch_alter_table('sales_rollup', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_rollup_household')
        batch_op.drop_index('ux_sales_rollup_key')

    op.drop_table('sales_rollup')
