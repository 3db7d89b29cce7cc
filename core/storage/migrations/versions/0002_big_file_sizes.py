"""file sizes as 64-bit integers (uploads over 2 GiB on PostgreSQL)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = [("local_videos", "size_bytes"), ("local_streams", "size_bytes")]


def _sqlite() -> bool:
    # SQLite's INTEGER is already 64-bit; rebuilding the tables there would also trip
    # the foreign keys of existing rows, so only PostgreSQL changes.
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _sqlite():
        return
    for table, column in _COLUMNS:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)


def downgrade() -> None:
    if _sqlite():
        return
    for table, column in _COLUMNS:
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
