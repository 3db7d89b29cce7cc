"""local backend media: item kind (video/audio), content hash, browser-playable rendition

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("local_videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="video"))
        batch_op.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("play_path", sa.Text(), nullable=True))
        batch_op.create_index("ix_local_videos_content", ["collection_id", "content_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("local_videos", schema=None) as batch_op:
        batch_op.drop_index("ix_local_videos_content")
        batch_op.drop_column("play_path")
        batch_op.drop_column("content_sha256")
        batch_op.drop_column("kind")
