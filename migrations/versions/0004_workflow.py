"""Workflow: incident workflow columns, joint-handling departments, 吹哨报到 whistles."""

import sqlalchemy as sa
from alembic import op

from migrations.ddl import TS, checks, col, create_index, create_partial_index, drop_index, fk, pk

revision = "0004_workflow"
down_revision = "0001"

DUE_LEFT = "seconds left to due_at when suspended (clock paused)"


def upgrade() -> None:
    # Defaults fill existing rows, so this runs forward on a populated database.
    for name, type_ in (("rework_count", sa.Integer()), ("escalation_level", sa.SmallInteger())):
        op.add_column("incidents", col(name, type_, nullable=False, server_default="0"))
    op.add_column("incidents", col("suspended_from", sa.Text(), "status to return to on reopen"))
    op.add_column("incidents", col("due_left_s", sa.Double(), DUE_LEFT))
    op.add_column("incidents", col("extension_until", TS, "pending extension request"))
    op.add_column("incidents", col("extension_requested_at", TS))
    op.create_check_constraint(
        op.f("ck_incidents_workflow_counts"),
        "incidents",
        "rework_count >= 0 AND escalation_level >= 0",
    )
    op.create_check_constraint(
        op.f("ck_incidents_suspended"),
        "incidents",
        "(status = 'suspended') = (suspended_from IS NOT NULL)",
    )
    create_partial_index(
        "ix_incidents_due_at_open",
        "incidents",
        ["due_at"],
        "closed_at IS NULL AND due_at IS NOT NULL",
    )

    op.create_table(
        "incident_supports",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("department_code", sa.Text(), nullable=False),
        sa.Column("assigned_at", TS, nullable=False),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        *checks(
            "incident_supports", ack_by="(acknowledged_at IS NULL) = (acknowledged_by IS NULL)"
        ),
        fk("incident_supports", "department_code", "departments.code"),
        fk("incident_supports", "incident_id", "incidents.id"),
        pk("incident_supports", "incident_id", "department_code"),
    )
    create_index("incident_supports", "department_code")
    op.create_table(
        "whistles",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("called_by", sa.Text(), nullable=False),
        col("area_code", sa.Text(), "scope area of the dispatcher who whistled"),
        sa.Column("called_at", TS, nullable=False),
        sa.Column("deadline_minutes", sa.Integer(), nullable=False),
        sa.Column("deadline_at", TS, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        *checks(
            "whistles",
            deadline_minutes="deadline_minutes > 0",
            deadline_after_call="deadline_at > called_at",
        ),
        fk("whistles", "incident_id", "incidents.id"),
        pk("whistles", "id"),
    )
    create_index("whistles", "incident_id")
    op.create_table(
        "whistle_checkins",
        sa.Column("whistle_id", sa.BigInteger(), nullable=False),
        sa.Column("department_code", sa.Text(), nullable=False),
        sa.Column("checked_in_at", TS, nullable=True),
        sa.Column("checked_in_by", sa.Text(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=True),
        *checks(
            "whistle_checkins",
            checked_in="(checked_in_at IS NULL) = (late IS NULL) AND (checked_in_at IS NULL) = "
            "(checked_in_by IS NULL)",
        ),
        fk("whistle_checkins", "department_code", "departments.code"),
        fk("whistle_checkins", "whistle_id", "whistles.id"),
        pk("whistle_checkins", "whistle_id", "department_code"),
    )
    create_index("whistle_checkins", "department_code")


def downgrade() -> None:
    drop_index("whistle_checkins", "department_code")
    op.drop_table("whistle_checkins")
    drop_index("whistles", "incident_id")
    op.drop_table("whistles")
    drop_index("incident_supports", "department_code")
    op.drop_table("incident_supports")
    op.drop_index("ix_incidents_due_at_open", table_name="incidents")
    op.drop_constraint(op.f("ck_incidents_suspended"), "incidents", type_="check")
    op.drop_constraint(op.f("ck_incidents_workflow_counts"), "incidents", type_="check")
    for column in (
        "extension_requested_at",
        "extension_until",
        "due_left_s",
        "suspended_from",
        "escalation_level",
        "rework_count",
    ):
        op.drop_column("incidents", column)
