"""Tables of 大联勤 joint patrols (migration 0027_patrols).

`patrols` is one walk of a leader (grid officer or department staff) with optional members from
other departments (`patrol_members`, each confirming). `patrol_fixes` holds the GPS fixes as
sent (idempotent by the client's point id), with the flags the service sets: `inaccurate`
(accuracy beyond GRIDGOV_PATROL_MAX_ACCURACY_M), `jump` (faster than GRIDGOV_PATROL_MAX_SPEED_KMH
from the previous clean fix) and `outside` (not in any area of the service). `patrol_reports`
links incidents reported on the way. `patrol_grid_days` keeps the daily coverage figures of days
whose fixes were pruned (GRIDGOV_TRACK_RETENTION_DAYS).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BIT

from api.db.models import _geom, id_column, incident_column, metadata, now_column, required

VARBIT = BIT(varying=True)


def _sums() -> list[sa.Column[object]]:
    """What a part (and a grid-day, summed) keeps for the estimate of a period's union."""
    return [
        sa.Column("reach_m2", sa.Double, nullable=True, comment="Σ exact covered area (m²)"),
        sa.Column("reach_cells", sa.Integer, nullable=True, comment="Σ covered cells"),
        sa.Column("road_m", sa.Double, nullable=True, comment="Σ exact covered streets (m)"),
        sa.Column("road_cells", sa.Integer, nullable=True, comment="Σ covered street cells"),
    ]


patrols = sa.Table(
    "patrols",
    metadata,
    id_column(),
    sa.Column("leader_user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("leader", sa.Text, nullable=False, comment="user name of the leader"),
    sa.Column("department_code", sa.Text, sa.ForeignKey("departments.code"), nullable=True),
    sa.Column(
        "area_code", sa.Text, nullable=True, comment="scope area: the leader's or department's"
    ),
    sa.Column(
        "client_id", sa.Text, nullable=True, comment="the phone's id of the start (idempotent)"
    ),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Index("ix_patrols_leader_client", "leader_user_id", "client_id", unique=True),
    sa.Index("ix_patrols_started_at", "started_at"),
)


def _patrol_key() -> sa.Column[int]:
    """The patrol a row belongs to: part of its key, deleted with the patrol."""
    fk = sa.ForeignKey("patrols.id", ondelete="CASCADE")
    return sa.Column("patrol_id", sa.BigInteger, fk, primary_key=True)


patrol_members = sa.Table(
    "patrol_members",
    metadata,
    _patrol_key(),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("department_code", sa.Text, nullable=True),
    sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
)

patrol_fixes = sa.Table(
    "patrol_fixes",
    metadata,
    _patrol_key(),
    sa.Column("client_id", sa.Text, primary_key=True, comment="the phone's point id"),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("geom", _geom("POINT"), nullable=False),
    sa.Column("accuracy_m", sa.Double, nullable=True),
    sa.Column("grid_code", sa.Text, nullable=True, comment="grid holding the fix when received"),
    sa.Column("inaccurate", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("jump", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("outside", sa.Boolean, nullable=False, server_default=sa.text("false")),
    now_column("received_at"),
    sa.Index("ix_patrol_fixes_patrol_at", "patrol_id", "at"),
    sa.Index("ix_patrol_fixes_at", "at"),
)

patrol_reports = sa.Table(
    "patrol_reports",
    metadata,
    _patrol_key(),
    incident_column(primary_key=True),
)

patrol_grid_days = sa.Table(
    "patrol_grid_days",
    metadata,
    sa.Column("grid_code", sa.Text, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    *required(sa.Double, "distance_m", "seconds"),
    sa.Column("covered_share", sa.Double, nullable=True),
    *required(sa.Integer, "patrols"),
    sa.Column("lattice_id", sa.BigInteger, nullable=True),
    sa.Column("cells", VARBIT, nullable=True),
    *_sums(),
)

patrol_lattices = sa.Table(
    "patrol_lattices",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "area_id",
        sa.BigInteger,
        sa.ForeignKey("areas.id"),
        nullable=False,
        comment="the grid's version",
    ),
    *required(sa.Text, "grid_code"),
    *required(sa.Double, "x0", "y0", "dx", "dy"),
    *required(sa.Integer, "ncols", "nrows"),
    sa.Column("mask", VARBIT, nullable=False, comment="cells whose centre is in the grid"),
    sa.Column("roads", VARBIT, nullable=False, comment="cells of the grid holding a street"),
    *required(sa.Double, "area_m2", "road_len_m"),
    sa.Index("ix_patrol_lattices_area_id", "area_id", unique=True),
)

patrol_cover_dirty = sa.Table(
    "patrol_cover_dirty",
    metadata,
    sa.Column("patrol_id", sa.BigInteger, primary_key=True),
    sa.Column("chunk", sa.Integer, primary_key=True, comment="epoch seconds / 900"),
    sa.Column("marks", sa.Integer, nullable=False, server_default=sa.text("1")),
)

patrol_cover_parts = sa.Table(
    "patrol_cover_parts",
    metadata,
    _patrol_key(),
    sa.Column("chunk", sa.Integer, primary_key=True, comment="first piece: epoch s / 900"),
    sa.Column("chunk_to", sa.Integer, nullable=False, comment="last piece"),
    sa.Column("grid_code", sa.Text, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("lattice_id", sa.BigInteger, sa.ForeignKey("patrol_lattices.id"), nullable=False),
    *required(sa.Double, "distance_m", "seconds"),
    *required(VARBIT, "cells"),
    *_sums(),
    sa.Index("ix_patrol_cover_parts_grid_code_day", "grid_code", "day"),
)
