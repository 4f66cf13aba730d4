"""sales_rollup: the attribution rows summed per month (and year) and report key (orders/ledger/rollup.py)

Revision ID: prf1a2b3c4d5
Revises: inv1a2b3c4d5
Create Date: 2026-12-01 00:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'prf1a2b3c4d5'
down_revision = 'inv1a2b3c4d5'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
KEY = ['span', 'month', 'channel', 'product_id', 'vendor_id', 'household_id', 'village_id',
       'certified', 'fair_id', 'buyer_org_id', 'buyer_name']


def upgrade():
    op.create_table('sales_rollup',
    sa.Column('id', BigId, nullable=False),
    sa.Column('span', sa.String(length=1), nullable=False),
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
    sa.CheckConstraint("span IN ('m', 'y')", name=op.f('ck_sales_rollup_span')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_rollup'))
    )
    with op.batch_alter_table('sales_rollup', schema=None) as batch_op:
        batch_op.create_index('ux_sales_rollup_key', KEY, unique=True)

    # the sums of the sales already in the ledger: per month, and per year without the fair
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for span, unit in (('m', 'month'), ('y', 'year')):
        if postgresql:
            start = f"date_trunc('{unit}', a.sale_date)::date"
        else:
            start = f"date(a.sale_date, 'start of {unit}')"
        fair = "coalesce(o.fair_id, 0)" if span == 'm' else "0"
        keys = (f"{start}, a.channel, a.product_id, a.vendor_id, "
                "coalesce(a.household_id, 0), coalesce(a.village_id, 0), a.certified, "
                "coalesce(o.buyer_org_id, 0), coalesce(o.buyer_name, '')")
        names = ("month, channel, product_id, vendor_id, household_id, village_id, certified, "
                 "buyer_org_id, buyer_name")
        # the constants are selected, never grouped by
        op.execute(
            f"INSERT INTO sales_rollup (span, fair_id, {names}, amount) "
            f"SELECT '{span}', {fair}, {keys}, sum(a.amount) FROM attributions a "
            f"JOIN orders o ON o.id = a.order_id GROUP BY {keys}"
            + (", coalesce(o.fair_id, 0)" if span == 'm' else "")
        )


def downgrade():
    with op.batch_alter_table('sales_rollup', schema=None) as batch_op:
        batch_op.drop_index('ux_sales_rollup_key')

    op.drop_table('sales_rollup')
