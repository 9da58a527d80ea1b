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

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)

from api.db.models import _geom, metadata

patrols = Table(
    "patrols",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("leader_user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("leader", Text, nullable=False, comment="user name of the leader"),
    Column("department_code", Text, ForeignKey("departments.code"), nullable=True),
    Column("area_code", Text, nullable=True, comment="scope area: the leader's or department's"),
    Column("client_id", Text, nullable=True, comment="the phone's id of the start (idempotent)"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_patrols_leader_client", "leader_user_id", "client_id", unique=True),
    Index("ix_patrols_started_at", "started_at"),
)

patrol_members = Table(
    "patrol_members",
    metadata,
    Column(
        "patrol_id",
        BigInteger,
        ForeignKey("patrols.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", BigInteger, ForeignKey("users.id"), primary_key=True),
    Column("name", Text, nullable=False),
    Column("department_code", Text, nullable=True),
    Column("confirmed_at", DateTime(timezone=True), nullable=True),
)

patrol_fixes = Table(
    "patrol_fixes",
    metadata,
    Column(
        "patrol_id",
        BigInteger,
        ForeignKey("patrols.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("client_id", Text, primary_key=True, comment="the phone's point id"),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("geom", _geom("POINT"), nullable=False),
    Column("accuracy_m", Double, nullable=True),
    Column("grid_code", Text, nullable=True, comment="grid holding the fix when received"),
    Column("inaccurate", Boolean, nullable=False, server_default=text("false")),
    Column("jump", Boolean, nullable=False, server_default=text("false")),
    Column("outside", Boolean, nullable=False, server_default=text("false")),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_patrol_fixes_patrol_at", "patrol_id", "at"),
    Index("ix_patrol_fixes_at", "at"),
)

patrol_reports = Table(
    "patrol_reports",
    metadata,
    Column(
        "patrol_id",
        BigInteger,
        ForeignKey("patrols.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), primary_key=True),
)

patrol_grid_days = Table(
    "patrol_grid_days",
    metadata,
    Column("grid_code", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("distance_m", Double, nullable=False),
    Column("seconds", Double, nullable=False),
    Column("covered_share", Double, nullable=True),
    Column("patrols", Integer, nullable=False),
)
