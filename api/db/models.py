"""The schema as SQLAlchemy metadata: the source Alembic compares migrations against.

The application queries with plain SQL (psycopg); these tables document the store and let
`alembic revision --autogenerate` see drift. Spatial columns are EPSG:4326.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

LEVELS = ("district", "street", "community", "grid")
ROLES = ("admin", "dispatcher", "officer", "department", "resident")
STATUSES = (
    "reported",
    "registered",
    "dispatched",
    "in_progress",
    "handled",
    "closed",
    "rejected",
    "suspended",
)
METHODS = ("building", "inside", "nearest", "outside")
TIME_UNITS = ("natural_hours", "working_hours", "working_days")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def id_column() -> sa.Column[int]:
    """The surrogate key: `id` BIGINT PRIMARY KEY (a BIGSERIAL in the migrations)."""
    return sa.Column("id", sa.BigInteger, primary_key=True)


def incident_column(**kw: Any) -> sa.Column[int]:
    """`incident_id`, a reference to incidents.id (`kw`: nullable, primary_key)."""
    return sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), **kw)


def now_column(name: str) -> sa.Column[dt.datetime]:
    """A moment the database stamps: TIMESTAMPTZ NOT NULL DEFAULT now()."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def required(type_: Any, *names: str) -> list[sa.Column[Any]]:
    """Columns of one type, NOT NULL, in the order named."""
    return [sa.Column(name, type_, nullable=False) for name in names]


def _geom(kind: str) -> Geometry:
    # spatial_index=False: GiST indexes are declared explicitly below, so autogenerate sees one.
    return Geometry(kind, srid=4326, spatial_index=False)


areas = sa.Table(
    "areas",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, comment="version id"),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("parent_code", sa.Text),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("level", sa.Text, nullable=False),
    sa.Column("level_rank", sa.SmallInteger, nullable=False),
    sa.Column("geom", _geom("MULTIPOLYGON"), nullable=False),
    sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    now_column("valid_from"),
    sa.Column("valid_to", sa.DateTime(timezone=True)),
    sa.Column("created_by", sa.Text),
    sa.Column("note", sa.Text),
    sa.CheckConstraint(_in("level", LEVELS), name="level"),
    sa.CheckConstraint(
        "level_rank = array_position(ARRAY['district','street','community','grid'], level)",
        name="level_rank",
    ),
    sa.CheckConstraint("code ~ '^[A-Za-z0-9_.-]{1,64}$'", name="code_format"),
    sa.CheckConstraint("parent_code IS NULL OR parent_code <> code", name="not_own_parent"),
    sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period"),
    sa.CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="geom_valid"),
    sa.Index(
        "ix_areas_current_code", "code", unique=True, postgresql_where=sa.text("valid_to IS NULL")
    ),
    sa.Index("ix_areas_parent_code", "parent_code", postgresql_where=sa.text("valid_to IS NULL")),
    sa.Index("ix_areas_geom", "geom", postgresql_using="gist"),
)

area_parts = sa.Table(
    "area_parts",
    metadata,
    id_column(),
    sa.Column(
        "area_id", sa.BigInteger, sa.ForeignKey("areas.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("level_rank", sa.SmallInteger, nullable=False),
    sa.Column("geom", _geom("POLYGON"), nullable=False),
    sa.Index("ix_area_parts_geom", "geom", postgresql_using="gist"),
    # Grid-only lookups (nearest grid, near-boundary, buildings → grids) skip the large parents.
    sa.Index(
        "ix_area_parts_grid_geom",
        "geom",
        postgresql_using="gist",
        postgresql_where=sa.text("level_rank = 4"),
    ),
    sa.Index("ix_area_parts_area_id", "area_id"),
)

departments = sa.Table(
    "departments",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("area_code", sa.Text),
    sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.CheckConstraint("kind IN ('territorial', 'functional')", name="kind"),
    sa.Index("ix_departments_area_code", "area_code"),
)

categories = sa.Table(
    "categories",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("parent_code", sa.Text, sa.ForeignKey("categories.code")),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("time_limit", sa.Numeric),
    sa.Column("time_unit", sa.Text),
    sa.Column("urgency", sa.Text, nullable=False, server_default="normal"),
    sa.Column("area_code", sa.Text, comment="owning area of a local ('X') category"),
    sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.CheckConstraint("kind IN ('component', 'event')", name="kind"),
    sa.CheckConstraint(_in("time_unit", TIME_UNITS), name="time_unit"),
    sa.CheckConstraint("time_limit IS NULL OR time_limit > 0", name="time_limit"),
    sa.CheckConstraint("(time_limit IS NULL) = (time_unit IS NULL)", name="limit_has_unit"),
    sa.CheckConstraint("urgency IN ('normal', 'urgent', 'critical')", name="urgency"),
)

routing_rules = sa.Table(
    "routing_rules",
    metadata,
    id_column(),
    sa.Column("category_prefix", sa.Text, nullable=False, server_default=""),
    sa.Column("area_prefix", sa.Text, nullable=False, server_default=""),
    sa.Column(
        "department_code",
        sa.Text,
        sa.ForeignKey("departments.code", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("category_prefix", "area_prefix", "department_code"),
)

buildings = sa.Table(
    "buildings",
    metadata,
    id_column(),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("address", sa.Text),
    sa.Column("households", sa.Integer),
    sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("geom", _geom("MULTIPOLYGON"), nullable=False),
    sa.Column("grid_code", sa.Text),
    sa.UniqueConstraint("source", "source_id"),
    sa.CheckConstraint("households IS NULL OR households >= 0", name="households"),
    sa.CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="geom_valid"),
    sa.Index("ix_buildings_geom", "geom", postgresql_using="gist"),
    sa.Index("ix_buildings_grid_code", "grid_code"),
)

users = sa.Table(
    "users",
    metadata,
    id_column(),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("area_code", sa.Text),
    sa.Column("department_code", sa.Text, sa.ForeignKey("departments.code")),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("password_hash", sa.Text, comment="argon2id; NULL = no page login"),
    now_column("created_at"),
    sa.CheckConstraint(_in("role", ROLES), name="role"),
    sa.CheckConstraint("role <> 'department' OR department_code IS NOT NULL", name="dept_has_dept"),
    sa.CheckConstraint(
        "role NOT IN ('dispatcher', 'officer') OR area_code IS NOT NULL", name="scoped_has_area"
    ),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    id_column(),
    sa.Column(
        "user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "token_hash", sa.Text, nullable=False, unique=True, comment="sha256 hex; never the token"
    ),
    sa.Column("prefix", sa.Text, nullable=False),
    now_column("created_at"),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

incidents = sa.Table(
    "incidents",
    metadata,
    id_column(),
    sa.Column("public_id", sa.Text, nullable=False, unique=True),
    sa.Column("geom", _geom("POINT"), nullable=False),
    sa.Column("orig_x", sa.Double, nullable=False),
    sa.Column("orig_y", sa.Double, nullable=False),
    sa.Column("orig_crs", sa.Text, nullable=False),
    sa.Column("category_code", sa.Text, sa.ForeignKey("categories.code"), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("reporter", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("reporter_user_id", sa.BigInteger, sa.ForeignKey("users.id")),
    sa.Column("status", sa.Text, nullable=False, server_default="reported"),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("distance_m", sa.Double, nullable=False, server_default="0"),
    sa.Column("building_id", sa.BigInteger, sa.ForeignKey("buildings.id", ondelete="SET NULL")),
    sa.Column("grid_code", sa.Text),
    sa.Column("community_code", sa.Text),
    sa.Column("street_code", sa.Text),
    sa.Column("district_code", sa.Text),
    sa.Column("responsible_area_code", sa.Text, nullable=False),
    sa.Column("grid_version_id", sa.BigInteger, sa.ForeignKey("areas.id")),
    sa.Column("community_version_id", sa.BigInteger, sa.ForeignKey("areas.id")),
    sa.Column("street_version_id", sa.BigInteger, sa.ForeignKey("areas.id")),
    sa.Column("district_version_id", sa.BigInteger, sa.ForeignKey("areas.id")),
    sa.Column("department_code", sa.Text, sa.ForeignKey("departments.code")),
    sa.Column("rule_id", sa.BigInteger, sa.ForeignKey("routing_rules.id", ondelete="SET NULL")),
    sa.Column(
        "assignment", JSONB, nullable=False, comment="the assignment as returned to the client"
    ),
    sa.Column("due_at", sa.DateTime(timezone=True)),
    now_column("reported_at"),
    now_column("updated_at"),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("idempotency_key", sa.Text, unique=True),
    sa.Column("request_hash", sa.Text),
    sa.Column("is_demo", sa.Boolean, nullable=False, server_default=sa.text("false")),
    # Open311 (issue 5, migration 0005_open311)
    sa.Column(
        "attributes",
        JSONB,
        nullable=False,
        server_default=sa.text("'{}'::jsonb"),
        comment="answers to the category's attributes (Open311 attribute[code])",
    ),
    # workflow (issue 4, migration 0004_workflow)
    sa.Column("rework_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("escalation_level", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("suspended_from", sa.Text, comment="status to return to on reopen"),
    sa.Column(
        "due_left_s", sa.Double, comment="seconds left to due_at when suspended (clock paused)"
    ),
    sa.Column("extension_until", sa.DateTime(timezone=True), comment="pending extension request"),
    sa.Column("extension_requested_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(_in("status", STATUSES), name="status"),
    sa.CheckConstraint(_in("method", METHODS), name="method"),
    sa.CheckConstraint(
        "source IN ('resident', 'patrol', 'hotline', 'officer', 'open311', 'api', 'import')",
        name="source",
    ),
    sa.CheckConstraint("char_length(description) <= 4000", name="description_length"),
    sa.CheckConstraint("distance_m >= 0", name="distance"),
    sa.CheckConstraint("rework_count >= 0 AND escalation_level >= 0", name="workflow_counts"),
    sa.CheckConstraint("(status = 'suspended') = (suspended_from IS NOT NULL)", name="suspended"),
    sa.CheckConstraint("(idempotency_key IS NULL) = (request_hash IS NULL)", name="idem_hash"),
    sa.CheckConstraint(
        "method NOT IN ('building', 'inside', 'nearest') OR grid_code IS NOT NULL",
        name="grid_methods_have_grid",
    ),
    sa.Index("ix_incidents_geom", "geom", postgresql_using="gist"),
    sa.Index("ix_incidents_status", "status"),
    sa.Index("ix_incidents_grid_code", "grid_code"),
    sa.Index("ix_incidents_department_code", "department_code"),
    sa.Index("ix_incidents_reported_at", "reported_at"),
)

incident_events = sa.Table(
    "incident_events",
    metadata,
    id_column(),
    incident_column(nullable=False),
    now_column("at"),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("from_status", sa.Text),
    sa.Column("to_status", sa.Text, nullable=False),
    sa.Column("department_code", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("data", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Index("ix_incident_events_incident_id", "incident_id"),
)
