"""The schema as SQLAlchemy metadata: the source Alembic compares migrations against.

The application queries with plain SQL (psycopg); these tables document the store and let
`alembic revision --autogenerate` see drift. Spatial columns are EPSG:4326.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
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


def _geom(kind: str) -> Geometry:
    # spatial_index=False: GiST indexes are declared explicitly below, so autogenerate sees one.
    return Geometry(kind, srid=4326, spatial_index=False)


areas = Table(
    "areas",
    metadata,
    Column("id", BigInteger, primary_key=True, comment="version id"),
    Column("code", Text, nullable=False),
    Column("parent_code", Text),
    Column("name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("level_rank", SmallInteger, nullable=False),
    Column("geom", _geom("MULTIPOLYGON"), nullable=False),
    Column("attributes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("valid_from", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("valid_to", DateTime(timezone=True)),
    Column("created_by", Text),
    Column("note", Text),
    CheckConstraint(_in("level", LEVELS), name="level"),
    CheckConstraint(
        "level_rank = array_position(ARRAY['district','street','community','grid'], level)",
        name="level_rank",
    ),
    CheckConstraint("code ~ '^[A-Za-z0-9_.-]{1,64}$'", name="code_format"),
    CheckConstraint("parent_code IS NULL OR parent_code <> code", name="not_own_parent"),
    CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period"),
    CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="geom_valid"),
    Index("ix_areas_current_code", "code", unique=True, postgresql_where=text("valid_to IS NULL")),
    Index("ix_areas_parent_code", "parent_code", postgresql_where=text("valid_to IS NULL")),
    Index("ix_areas_geom", "geom", postgresql_using="gist"),
)

area_parts = Table(
    "area_parts",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("area_id", BigInteger, ForeignKey("areas.id", ondelete="CASCADE"), nullable=False),
    Column("code", Text, nullable=False),
    Column("level_rank", SmallInteger, nullable=False),
    Column("geom", _geom("POLYGON"), nullable=False),
    Index("ix_area_parts_geom", "geom", postgresql_using="gist"),
    # Grid-only lookups (nearest grid, near-boundary, buildings → grids) skip the large parents.
    Index(
        "ix_area_parts_grid_geom",
        "geom",
        postgresql_using="gist",
        postgresql_where=text("level_rank = 4"),
    ),
    Index("ix_area_parts_area_id", "area_id"),
)

departments = Table(
    "departments",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("area_code", Text),
    Column("attributes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    CheckConstraint("kind IN ('territorial', 'functional')", name="kind"),
    Index("ix_departments_area_code", "area_code"),
)

categories = Table(
    "categories",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("parent_code", Text, ForeignKey("categories.code")),
    Column("kind", Text, nullable=False),
    Column("time_limit", Numeric),
    Column("time_unit", Text),
    Column("urgency", Text, nullable=False, server_default="normal"),
    Column("area_code", Text, comment="owning area of a local ('X') category"),
    Column("attributes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    CheckConstraint("kind IN ('component', 'event')", name="kind"),
    CheckConstraint(_in("time_unit", TIME_UNITS), name="time_unit"),
    CheckConstraint("time_limit IS NULL OR time_limit > 0", name="time_limit"),
    CheckConstraint("(time_limit IS NULL) = (time_unit IS NULL)", name="limit_has_unit"),
    CheckConstraint("urgency IN ('normal', 'urgent', 'critical')", name="urgency"),
)

routing_rules = Table(
    "routing_rules",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("category_prefix", Text, nullable=False, server_default=""),
    Column("area_prefix", Text, nullable=False, server_default=""),
    Column(
        "department_code",
        Text,
        ForeignKey("departments.code", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("priority", Integer, nullable=False, server_default="0"),
    UniqueConstraint("category_prefix", "area_prefix", "department_code"),
)

buildings = Table(
    "buildings",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("source", Text, nullable=False),
    Column("source_id", Text, nullable=False),
    Column("name", Text),
    Column("address", Text),
    Column("households", Integer),
    Column("attributes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("geom", _geom("MULTIPOLYGON"), nullable=False),
    Column("grid_code", Text),
    UniqueConstraint("source", "source_id"),
    CheckConstraint("households IS NULL OR households >= 0", name="households"),
    CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="geom_valid"),
    Index("ix_buildings_geom", "geom", postgresql_using="gist"),
    Index("ix_buildings_grid_code", "grid_code"),
)

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("role", Text, nullable=False),
    Column("area_code", Text),
    Column("department_code", Text, ForeignKey("departments.code")),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("password_hash", Text, comment="argon2id; NULL = no page login"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(_in("role", ROLES), name="role"),
    CheckConstraint("role <> 'department' OR department_code IS NOT NULL", name="dept_has_dept"),
    CheckConstraint(
        "role NOT IN ('dispatcher', 'officer') OR area_code IS NOT NULL", name="scoped_has_area"
    ),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", Text, nullable=False, unique=True, comment="sha256 hex; never the token"),
    Column("prefix", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("public_id", Text, nullable=False, unique=True),
    Column("geom", _geom("POINT"), nullable=False),
    Column("orig_x", Double, nullable=False),
    Column("orig_y", Double, nullable=False),
    Column("orig_crs", Text, nullable=False),
    Column("category_code", Text, ForeignKey("categories.code"), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("source", Text, nullable=False),
    Column("reporter", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("reporter_user_id", BigInteger, ForeignKey("users.id")),
    Column("status", Text, nullable=False, server_default="reported"),
    Column("method", Text, nullable=False),
    Column("distance_m", Double, nullable=False, server_default="0"),
    Column("building_id", BigInteger, ForeignKey("buildings.id", ondelete="SET NULL")),
    Column("grid_code", Text),
    Column("community_code", Text),
    Column("street_code", Text),
    Column("district_code", Text),
    Column("responsible_area_code", Text, nullable=False),
    Column("grid_version_id", BigInteger, ForeignKey("areas.id")),
    Column("community_version_id", BigInteger, ForeignKey("areas.id")),
    Column("street_version_id", BigInteger, ForeignKey("areas.id")),
    Column("district_version_id", BigInteger, ForeignKey("areas.id")),
    Column("department_code", Text, ForeignKey("departments.code")),
    Column("rule_id", BigInteger, ForeignKey("routing_rules.id", ondelete="SET NULL")),
    Column("assignment", JSONB, nullable=False, comment="the assignment as returned to the client"),
    Column("due_at", DateTime(timezone=True)),
    Column("reported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("closed_at", DateTime(timezone=True)),
    Column("idempotency_key", Text, unique=True),
    Column("request_hash", Text),
    Column("is_demo", Boolean, nullable=False, server_default=text("false")),
    # Open311 (issue 5, migration 0005_open311)
    Column(
        "attributes",
        JSONB,
        nullable=False,
        server_default=text("'{}'::jsonb"),
        comment="answers to the category's attributes (Open311 attribute[code])",
    ),
    # workflow (issue 4, migration 0004_workflow)
    Column("rework_count", Integer, nullable=False, server_default="0"),
    Column("escalation_level", SmallInteger, nullable=False, server_default="0"),
    Column("suspended_from", Text, comment="status to return to on reopen"),
    Column("due_left_s", Double, comment="seconds left to due_at when suspended (clock paused)"),
    Column("extension_until", DateTime(timezone=True), comment="pending extension request"),
    Column("extension_requested_at", DateTime(timezone=True)),
    CheckConstraint(_in("status", STATUSES), name="status"),
    CheckConstraint(_in("method", METHODS), name="method"),
    CheckConstraint(
        "source IN ('resident', 'patrol', 'hotline', 'officer', 'open311', 'api', 'import')",
        name="source",
    ),
    CheckConstraint("char_length(description) <= 4000", name="description_length"),
    CheckConstraint("distance_m >= 0", name="distance"),
    CheckConstraint("rework_count >= 0 AND escalation_level >= 0", name="workflow_counts"),
    CheckConstraint("(status = 'suspended') = (suspended_from IS NOT NULL)", name="suspended"),
    CheckConstraint("(idempotency_key IS NULL) = (request_hash IS NULL)", name="idem_hash"),
    CheckConstraint(
        "method NOT IN ('building', 'inside', 'nearest') OR grid_code IS NOT NULL",
        name="grid_methods_have_grid",
    ),
    Index("ix_incidents_geom", "geom", postgresql_using="gist"),
    Index("ix_incidents_status", "status"),
    Index("ix_incidents_grid_code", "grid_code"),
    Index("ix_incidents_department_code", "department_code"),
    Index("ix_incidents_reported_at", "reported_at"),
)

incident_events = Table(
    "incident_events",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("from_status", Text),
    Column("to_status", Text, nullable=False),
    Column("department_code", Text),
    Column("note", Text),
    Column("data", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_incident_events_incident_id", "incident_id"),
)
