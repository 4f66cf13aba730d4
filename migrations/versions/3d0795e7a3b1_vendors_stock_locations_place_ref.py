"""vendors: stock locations keyed by place (place_ref), no foreign key to fairs

A location is now known by (vendor_id, kind, place_ref): place_ref is the fair's id for a
fair stall (copied from fair_id) or the store organization's id for a counter (copied
from retailer_id), a plain integer, so vendors no longer points at orders' fairs table.
The warehouse stays one per vendor through a partial unique index. Names need no longer
be unique.

Revision ID: 3d0795e7a3b1
Revises: 049e856f903d
Create Date: 2026-11-30 21:12:07.433964

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d0795e7a3b1'
down_revision = "049e856f903d"
branch_labels = None
depends_on = None

WAREHOUSE = sa.text("kind = 'warehouse'")


def upgrade():
    with op.batch_alter_table('stock_locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place_ref', sa.Integer(), nullable=True))
    op.execute("UPDATE stock_locations SET place_ref = fair_id WHERE kind = 'fair'")
    op.execute("UPDATE stock_locations SET place_ref = retailer_id WHERE kind = 'counter'")
    with op.batch_alter_table('stock_locations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_stock_locations_vendor_id_kind_name'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_stock_locations_retailer_id_organizations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_stock_locations_fair_id_fairs'), type_='foreignkey')
        batch_op.drop_column('fair_id')
        batch_op.drop_column('retailer_id')
        batch_op.create_unique_constraint(batch_op.f('uq_stock_locations_vendor_id_kind_place_ref'), ['vendor_id', 'kind', 'place_ref'])
        batch_op.create_check_constraint(batch_op.f('ck_stock_locations_warehouse_place_ref'), "kind != 'warehouse' OR place_ref IS NULL")
    op.create_index('uq_stock_locations_warehouse', 'stock_locations', ['vendor_id'], unique=True, sqlite_where=WAREHOUSE, postgresql_where=WAREHOUSE)


def downgrade():
    op.drop_index('uq_stock_locations_warehouse', table_name='stock_locations', sqlite_where=WAREHOUSE, postgresql_where=WAREHOUSE)
    with op.batch_alter_table('stock_locations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_stock_locations_warehouse_place_ref'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_stock_locations_vendor_id_kind_place_ref'), type_='unique')
        batch_op.add_column(sa.Column('fair_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retailer_id', sa.Integer(), nullable=True))
    # a place_ref of a fair or store that no longer exists would break the foreign keys
    op.execute(
        "UPDATE stock_locations SET fair_id = place_ref WHERE kind = 'fair'"
        " AND place_ref IN (SELECT id FROM fairs)"
    )
    op.execute(
        "UPDATE stock_locations SET retailer_id = place_ref WHERE kind = 'counter'"
        " AND place_ref IN (SELECT id FROM organizations)"
    )
    with op.batch_alter_table('stock_locations', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_stock_locations_fair_id_fairs'), 'fairs', ['fair_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_stock_locations_retailer_id_organizations'), 'organizations', ['retailer_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_stock_locations_vendor_id_kind_name'), ['vendor_id', 'kind', 'name'])
        batch_op.drop_column('place_ref')
