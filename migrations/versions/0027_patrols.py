"""大联勤 joint patrols: patrols, members, GPS fixes, reports found on the way, pruned days.

Revision ID: 0027_patrols
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0027_patrols"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str, cascade: bool = False) -> sa.ForeignKeyConstraint:
    ref, _, _ = target.partition(".")
    return sa.ForeignKeyConstraint(
        [column],
        [target],
        name=op.f(f"fk_{table}_{column}_{ref}"),
        ondelete="CASCADE" if cascade else None,
    )


def upgrade() -> None:
    op.create_table(
        "patrols",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("leader_user_id", sa.BigInteger(), nullable=False),
        sa.Column("leader", sa.Text(), nullable=False, comment="user name of the leader"),
        sa.Column("department_code", sa.Text(), nullable=True),
        sa.Column(
            "area_code",
            sa.Text(),
            nullable=True,
            comment="scope area: the leader's or department's",
        ),
        sa.Column(
            "client_id",
            sa.Text(),
            nullable=True,
            comment="the phone's id of the start (idempotent)",
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        _fk("patrols", "leader_user_id", "users.id"),
        _fk("patrols", "department_code", "departments.code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrols")),
    )
    op.create_index(
        "ix_patrols_leader_client", "patrols", ["leader_user_id", "client_id"], unique=True
    )
    op.create_index("ix_patrols_started_at", "patrols", ["started_at"], unique=False)
    op.create_table(
        "patrol_members",
        sa.Column("patrol_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("department_code", sa.Text(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        _fk("patrol_members", "patrol_id", "patrols.id", cascade=True),
        _fk("patrol_members", "user_id", "users.id"),
        sa.PrimaryKeyConstraint("patrol_id", "user_id", name=op.f("pk_patrol_members")),
    )
    op.create_table(
        "patrol_fixes",
        sa.Column("patrol_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False, comment="the phone's point id"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("accuracy_m", sa.Double(), nullable=True),
        sa.Column(
            "grid_code", sa.Text(), nullable=True, comment="grid holding the fix when received"
        ),
        sa.Column("inaccurate", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("jump", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("outside", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        _fk("patrol_fixes", "patrol_id", "patrols.id", cascade=True),
        sa.PrimaryKeyConstraint("patrol_id", "client_id", name=op.f("pk_patrol_fixes")),
    )
    op.create_index("ix_patrol_fixes_patrol_at", "patrol_fixes", ["patrol_id", "at"], unique=False)
    op.create_index("ix_patrol_fixes_at", "patrol_fixes", ["at"], unique=False)
    op.create_table(
        "patrol_reports",
        sa.Column("patrol_id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        _fk("patrol_reports", "patrol_id", "patrols.id", cascade=True),
        _fk("patrol_reports", "incident_id", "incidents.id"),
        sa.PrimaryKeyConstraint("patrol_id", "incident_id", name=op.f("pk_patrol_reports")),
    )
    op.create_table(
        "patrol_grid_days",
        sa.Column("grid_code", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("distance_m", sa.Double(), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("covered_share", sa.Double(), nullable=True),
        sa.Column("patrols", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grid_code", "day", name=op.f("pk_patrol_grid_days")),
    )


def downgrade() -> None:
    op.drop_table("patrol_grid_days")
    op.drop_table("patrol_reports")
    op.drop_index("ix_patrol_fixes_at", table_name="patrol_fixes")
    op.drop_index("ix_patrol_fixes_patrol_at", table_name="patrol_fixes")
    op.drop_table("patrol_fixes")
    op.drop_table("patrol_members")
    op.drop_index("ix_patrols_started_at", table_name="patrols")
    op.drop_index("ix_patrols_leader_client", table_name="patrols")
    op.drop_table("patrols")
