"""text analysis, score measures and history, lifecycle stages

New NOT NULL columns of existing tables get a server default for the rows already there.

Revision ID: 83152a181a41
Revises: 812d995568c5
Create Date: 2026-12-02 12:16:21.128899+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql
import socialcrm.server.sqltypes

revision: str = '83152a181a41'
down_revision: str | None = '812d995568c5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('scoring_settings',
    sa.Column('workspace_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', socialcrm.server.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rescored_at', socialcrm.server.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_scoring_settings_workspace_id_workspace')),
    sa.PrimaryKeyConstraint('workspace_id', name=op.f('pk_scoring_settings'))
    )
    op.create_table('score_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('workspace_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('engagement', sa.Float(), nullable=False),
    sa.Column('influence', sa.Float(), nullable=False),
    sa.Column('sentiment', sa.Float(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('social_value', sa.Float(), nullable=False),
    sa.Column('churn_risk', sa.Float(), nullable=False),
    sa.Column('recorded_at', socialcrm.server.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_score_history_customer_id_customer')),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_score_history_workspace_id_workspace')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_history')),
    sa.UniqueConstraint('customer_id', 'day', name=op.f('uq_score_history_customer_id_day'))
    )
    op.create_table('stage_change',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('workspace_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_stage', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('to_stage', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('changed_at', socialcrm.server.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_stage_change_customer_id_customer')),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_stage_change_workspace_id_workspace')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_change'))
    )
    with op.batch_alter_table('stage_change', schema=None) as batch_op:
        batch_op.create_index('ix_stage_change_customer_id_changed_at', ['customer_id', 'changed_at'], unique=False)

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage_set_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('stage_changed_at', socialcrm.server.sqltypes.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('interaction', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('is_complaint', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('keywords', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('amount', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True))

    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.add_column(sa.Column('measured_at', socialcrm.server.sqltypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('activity_recent', sa.Float(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('activity_baseline', sa.Float(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('sentiment_sum', sa.Float(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('sentiment_weight', sa.Float(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('inbound_count', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('outbound_count', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('complaint_count', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('purchase_count', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('purchase_total', sa.Float(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('first_seen_at', socialcrm.server.sqltypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_inbound_at', socialcrm.server.sqltypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_purchase_at', socialcrm.server.sqltypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_purchase_at', socialcrm.server.sqltypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_complaint_at', socialcrm.server.sqltypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('unfollowed', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('centrality', sa.Float(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('audience', sa.Integer(), nullable=False, server_default=sa.text('0')))



def downgrade() -> None:
    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.drop_column('audience')
        batch_op.drop_column('centrality')
        batch_op.drop_column('unfollowed')
        batch_op.drop_column('last_complaint_at')
        batch_op.drop_column('last_purchase_at')
        batch_op.drop_column('first_purchase_at')
        batch_op.drop_column('last_inbound_at')
        batch_op.drop_column('first_seen_at')
        batch_op.drop_column('purchase_total')
        batch_op.drop_column('purchase_count')
        batch_op.drop_column('complaint_count')
        batch_op.drop_column('outbound_count')
        batch_op.drop_column('inbound_count')
        batch_op.drop_column('sentiment_weight')
        batch_op.drop_column('sentiment_sum')
        batch_op.drop_column('activity_baseline')
        batch_op.drop_column('activity_recent')
        batch_op.drop_column('measured_at')

    with op.batch_alter_table('interaction', schema=None) as batch_op:
        batch_op.drop_column('currency')
        batch_op.drop_column('amount')
        batch_op.drop_column('keywords')
        batch_op.drop_column('is_complaint')
        batch_op.drop_column('language')

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('stage_changed_at')
        batch_op.drop_column('stage_set_by')

    with op.batch_alter_table('stage_change', schema=None) as batch_op:
        batch_op.drop_index('ix_stage_change_customer_id_changed_at')

    op.drop_table('stage_change')
    op.drop_table('score_history')
    op.drop_table('scoring_settings')
