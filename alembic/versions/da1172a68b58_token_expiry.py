"""token expiry: api_token.expires_at

Existing tokens get NULL, so they keep never expiring.

Revision ID: da1172a68b58
Revises: 83152a181a41
Create Date: 2026-12-02 14:04:58.416561+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import socialcrm.server.sqltypes

revision: str = 'da1172a68b58'
down_revision: str | None = '83152a181a41'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'expires_at',
                socialcrm.server.sqltypes.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
