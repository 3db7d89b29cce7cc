"""production runtime: process heartbeats, the durable inbox, turn ownership

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("platforms", sa.String(length=128), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inbox_platform_owner", "inbox", ["platform", "owner"])
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("job_id", sa.BigInteger(), nullable=True))
        # Turns that ended before this migration were delivered by the process that ran them.
        batch.add_column(sa.Column("delivered", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_event_ledger_created", "event_ledger", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_event_ledger_created", table_name="event_ledger")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("cancel_requested")
        batch.drop_column("delivered")
        batch.drop_column("job_id")
        batch.drop_column("owner")
    op.drop_index("ix_inbox_platform_owner", table_name="inbox")
    op.drop_table("inbox")
    op.drop_table("processes")
