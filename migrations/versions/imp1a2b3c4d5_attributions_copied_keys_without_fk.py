"""attributions: no foreign key on the copied keys (order, product, vendor, village)

Each is the value of a row that has the foreign key (the order line's order, product and
vendor; the household's village); an import writes hundreds of thousands of attribution
rows and each foreign key is a lookup per row. The line, household and refund keep theirs.

Revision ID: imp1a2b3c4d5
Revises: prf1a2b3c4d5
Create Date: 2026-12-01 04:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'imp1a2b3c4d5'
down_revision = 'prf1a2b3c4d5'
branch_labels = None
depends_on = None

COPIED = [
    ('fk_attributions_order_id_orders', 'order_id', 'orders'),
    ('fk_attributions_product_id_products', 'product_id', 'products'),
    ('fk_attributions_vendor_id_organizations', 'vendor_id', 'organizations'),
    ('fk_attributions_village_id_villages', 'village_id', 'villages'),
]
# SQLite rebuilds the table to drop a constraint: the partial indexes are recreated by
# hand, with their WHERE clauses
PARTIAL = [
    ('ix_attributions_household_sales', ['household_id', 'sale_date'], ['order_line_id'],
     'refund_id IS NULL AND amount > 0'),
    ('ix_attributions_unattributed', ['sale_date'], ['amount'], 'household_id IS NULL'),
    ('ix_attributions_refunds', ['sale_date'], ['amount', 'certified'], 'refund_id IS NOT NULL'),
]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _drop_partial():
    for name, *_ in PARTIAL:
        op.drop_index(name, table_name='attributions')


def _create_partial():
    for name, columns, include, where in PARTIAL:
        op.create_index(name, 'attributions', columns, unique=False,
                        postgresql_include=include, postgresql_where=sa.text(where),
                        sqlite_where=sa.text(where))


def upgrade():
    if not _sqlite():
        for name, _column, _table in COPIED:
            op.drop_constraint(name, 'attributions', type_='foreignkey')
        return
    _drop_partial()
    with op.batch_alter_table('attributions', schema=None) as batch_op:
        for name, _column, _table in COPIED:
            batch_op.drop_constraint(name, type_='foreignkey')
    _create_partial()


def downgrade():
    if not _sqlite():
        for name, column, table in COPIED:
            op.create_foreign_key(name, 'attributions', table, [column], ['id'])
        return
    _drop_partial()
    with op.batch_alter_table('attributions', schema=None) as batch_op:
        for name, column, table in COPIED:
            batch_op.create_foreign_key(name, table, [column], ['id'])
    _create_partial()
