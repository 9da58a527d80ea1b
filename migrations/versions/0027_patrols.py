"""大联勤 joint patrols: patrols, members, GPS fixes, reports found on the way, pruned days."""

import sqlalchemy as sa
from alembic import op

from migrations.ddl import (
    TS,
    col,
    create_index,
    drop_index,
    fk,
    flag_column,
    geometry_column,
    now_column,
    pk,
)

revision = "0027_patrols"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "patrols",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("leader_user_id", sa.BigInteger(), nullable=False),
        sa.Column("leader", sa.Text(), nullable=False, comment="user name of the leader"),
        sa.Column("department_code", sa.Text(), nullable=True),
        col("area_code", sa.Text(), "scope area: the leader's or department's"),
        col("client_id", sa.Text(), "the phone's id of the start (idempotent)"),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        fk("patrols", "leader_user_id", "users.id"),
        fk("patrols", "department_code", "departments.code"),
        pk("patrols", "id"),
    )
    op.create_index(
        "ix_patrols_leader_client", "patrols", ["leader_user_id", "client_id"], unique=True
    )
    create_index("patrols", "started_at")
    op.create_table(
        "patrol_members",
        sa.Column("patrol_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("department_code", sa.Text(), nullable=True),
        sa.Column("confirmed_at", TS, nullable=True),
        fk("patrol_members", "patrol_id", "patrols.id", ondelete="CASCADE"),
        fk("patrol_members", "user_id", "users.id"),
        pk("patrol_members", "patrol_id", "user_id"),
    )
    op.create_table(
        "patrol_fixes",
        sa.Column("patrol_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False, comment="the phone's point id"),
        sa.Column("at", TS, nullable=False),
        geometry_column("POINT"),
        sa.Column("accuracy_m", sa.Double(), nullable=True),
        col("grid_code", sa.Text(), "grid holding the fix when received"),
        flag_column("inaccurate"),
        flag_column("jump"),
        flag_column("outside"),
        now_column("received_at"),
        fk("patrol_fixes", "patrol_id", "patrols.id", ondelete="CASCADE"),
        pk("patrol_fixes", "patrol_id", "client_id"),
    )
    op.create_index("ix_patrol_fixes_patrol_at", "patrol_fixes", ["patrol_id", "at"], unique=False)
    create_index("patrol_fixes", "at")
    op.create_table(
        "patrol_reports",
        sa.Column("patrol_id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        fk("patrol_reports", "patrol_id", "patrols.id", ondelete="CASCADE"),
        fk("patrol_reports", "incident_id", "incidents.id"),
        pk("patrol_reports", "patrol_id", "incident_id"),
    )
    op.create_table(
        "patrol_grid_days",
        sa.Column("grid_code", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("distance_m", sa.Double(), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("covered_share", sa.Double(), nullable=True),
        sa.Column("patrols", sa.Integer(), nullable=False),
        pk("patrol_grid_days", "grid_code", "day"),
    )


def downgrade() -> None:
    op.drop_table("patrol_grid_days")
    op.drop_table("patrol_reports")
    drop_index("patrol_fixes", "at")
    op.drop_index("ix_patrol_fixes_patrol_at", table_name="patrol_fixes")
    op.drop_table("patrol_fixes")
    op.drop_table("patrol_members")
    drop_index("patrols", "started_at")
    op.drop_index("ix_patrols_leader_client", table_name="patrols")
    op.drop_table("patrols")
