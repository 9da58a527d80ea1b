"""Initial schema: PostGIS, areas (versioned) and their parts, reference data, incidents.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 21:07:51.983050
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_geospatial_table(
        "areas",
        sa.Column("id", sa.BigInteger(), nullable=False, comment="version id"),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("level_rank", sa.SmallInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "valid_from",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("code ~ '^[A-Za-z0-9_.-]{1,64}$'", name=op.f("ck_areas_code_format")),
        sa.CheckConstraint(
            "level IN ('district', 'street', 'community', 'grid')", name=op.f("ck_areas_level")
        ),
        sa.CheckConstraint(
            "level_rank = array_position(ARRAY['district','street','community','grid'], level)",
            name=op.f("ck_areas_level_rank"),
        ),
        sa.CheckConstraint(
            "ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name=op.f("ck_areas_geom_valid")
        ),
        sa.CheckConstraint(
            "parent_code IS NULL OR parent_code <> code", name=op.f("ck_areas_not_own_parent")
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_areas_period")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_areas")),
    )
    op.create_index(
        "ix_areas_current_code",
        "areas",
        ["code"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_geospatial_index(
        "ix_areas_geom", "areas", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(
        "ix_areas_parent_code",
        "areas",
        ["parent_code"],
        unique=False,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_geospatial_table(
        "buildings",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("grid_code", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name=op.f("ck_buildings_geom_valid")
        ),
        sa.CheckConstraint(
            "households IS NULL OR households >= 0", name=op.f("ck_buildings_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buildings")),
        sa.UniqueConstraint("source", "source_id", name=op.f("uq_buildings_source_source_id")),
    )
    op.create_geospatial_index(
        "ix_buildings_geom",
        "buildings",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_buildings_grid_code", "buildings", ["grid_code"], unique=False)
    op.create_table(
        "categories",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("time_limit", sa.Numeric(), nullable=True),
        sa.Column("time_unit", sa.Text(), nullable=True),
        sa.Column("urgency", sa.Text(), server_default="normal", nullable=False),
        sa.Column(
            "area_code", sa.Text(), nullable=True, comment="owning area of a local ('X') category"
        ),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('component', 'event')", name=op.f("ck_categories_kind")),
        sa.CheckConstraint(
            "time_unit IN ('natural_hours', 'working_hours', 'working_days')",
            name=op.f("ck_categories_time_unit"),
        ),
        sa.CheckConstraint(
            "urgency IN ('normal', 'urgent', 'critical')", name=op.f("ck_categories_urgency")
        ),
        sa.CheckConstraint(
            "(time_limit IS NULL) = (time_unit IS NULL)", name=op.f("ck_categories_limit_has_unit")
        ),
        sa.CheckConstraint(
            "time_limit IS NULL OR time_limit > 0", name=op.f("ck_categories_time_limit")
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["categories.code"], name=op.f("fk_categories_parent_code_categories")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_categories")),
    )
    op.create_table(
        "departments",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("area_code", sa.Text(), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('territorial', 'functional')", name=op.f("ck_departments_kind")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_departments")),
    )
    op.create_index("ix_departments_area_code", "departments", ["area_code"], unique=False)
    op.create_geospatial_table(
        "area_parts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("area_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("level_rank", sa.SmallInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_area_parts_area_id_areas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area_parts")),
    )
    op.create_index("ix_area_parts_area_id", "area_parts", ["area_id"], unique=False)
    op.create_geospatial_index(
        "ix_area_parts_geom",
        "area_parts",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("category_prefix", sa.Text(), server_default="", nullable=False),
        sa.Column("area_prefix", sa.Text(), server_default="", nullable=False),
        sa.Column("department_code", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_routing_rules_department_code_departments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
        sa.UniqueConstraint(
            "category_prefix",
            "area_prefix",
            "department_code",
            name=op.f("uq_routing_rules_category_prefix_area_prefix_department_code"),
        ),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("area_code", sa.Text(), nullable=True),
        sa.Column("department_code", sa.Text(), nullable=True),
        sa.Column("disabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role <> 'department' OR department_code IS NOT NULL",
            name=op.f("ck_users_dept_has_dept"),
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'dispatcher', 'officer', 'department', 'resident')",
            name=op.f("ck_users_role"),
        ),
        sa.CheckConstraint(
            "role NOT IN ('dispatcher', 'officer') OR area_code IS NOT NULL",
            name=op.f("ck_users_scoped_has_area"),
        ),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_users_department_code_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False, comment="sha256 hex; never the token"),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_geospatial_table(
        "incidents",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("public_id", sa.Text(), nullable=False),
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
        sa.Column("orig_x", sa.Double(), nullable=False),
        sa.Column("orig_y", sa.Double(), nullable=False),
        sa.Column("orig_crs", sa.Text(), nullable=False),
        sa.Column("category_code", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "reporter",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("reporter_user_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), server_default="reported", nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("distance_m", sa.Double(), server_default="0", nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        sa.Column("grid_code", sa.Text(), nullable=True),
        sa.Column("community_code", sa.Text(), nullable=True),
        sa.Column("street_code", sa.Text(), nullable=True),
        sa.Column("district_code", sa.Text(), nullable=True),
        sa.Column("responsible_area_code", sa.Text(), nullable=False),
        sa.Column("grid_version_id", sa.BigInteger(), nullable=True),
        sa.Column("community_version_id", sa.BigInteger(), nullable=True),
        sa.Column("street_version_id", sa.BigInteger(), nullable=True),
        sa.Column("district_version_id", sa.BigInteger(), nullable=True),
        sa.Column("department_code", sa.Text(), nullable=True),
        sa.Column("rule_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "assignment",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the assignment as returned to the client",
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "reported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_hash", sa.Text(), nullable=True),
        sa.Column("is_demo", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint(
            "method IN ('building', 'inside', 'nearest', 'outside')",
            name=op.f("ck_incidents_method"),
        ),
        sa.CheckConstraint(
            "method NOT IN ('building', 'inside', 'nearest') OR grid_code IS NOT NULL",
            name=op.f("ck_incidents_grid_methods_have_grid"),
        ),
        sa.CheckConstraint(
            "source IN ('resident', 'patrol', 'hotline', 'officer', 'open311', 'api', 'import')",
            name=op.f("ck_incidents_source"),
        ),
        sa.CheckConstraint(
            "status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled', 'closed', 'rejected', 'suspended')",
            name=op.f("ck_incidents_status"),
        ),
        sa.CheckConstraint(
            "(idempotency_key IS NULL) = (request_hash IS NULL)",
            name=op.f("ck_incidents_idem_hash"),
        ),
        sa.CheckConstraint(
            "char_length(description) <= 4000", name=op.f("ck_incidents_description_length")
        ),
        sa.CheckConstraint("distance_m >= 0", name=op.f("ck_incidents_distance")),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_incidents_building_id_buildings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["categories.code"],
            name=op.f("fk_incidents_category_code_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["community_version_id"],
            ["areas.id"],
            name=op.f("fk_incidents_community_version_id_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_incidents_department_code_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["district_version_id"],
            ["areas.id"],
            name=op.f("fk_incidents_district_version_id_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["grid_version_id"], ["areas.id"], name=op.f("fk_incidents_grid_version_id_areas")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_user_id"], ["users.id"], name=op.f("fk_incidents_reporter_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["routing_rules.id"],
            name=op.f("fk_incidents_rule_id_routing_rules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["street_version_id"], ["areas.id"], name=op.f("fk_incidents_street_version_id_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_incidents_idempotency_key")),
        sa.UniqueConstraint("public_id", name=op.f("uq_incidents_public_id")),
    )
    op.create_index("ix_incidents_department_code", "incidents", ["department_code"], unique=False)
    op.create_geospatial_index(
        "ix_incidents_geom",
        "incidents",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_incidents_grid_code", "incidents", ["grid_code"], unique=False)
    op.create_index("ix_incidents_reported_at", "incidents", ["reported_at"], unique=False)
    op.create_index("ix_incidents_status", "incidents", ["status"], unique=False)
    op.create_table(
        "incident_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("department_code", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_events_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
    )
    op.create_index(
        "ix_incident_events_incident_id", "incident_events", ["incident_id"], unique=False
    )

    for statement in TRIGGERS_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in TRIGGERS_DOWN:
        op.execute(statement)
    op.drop_index("ix_incident_events_incident_id", table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_index("ix_incidents_status", table_name="incidents")
    op.drop_index("ix_incidents_reported_at", table_name="incidents")
    op.drop_index("ix_incidents_grid_code", table_name="incidents")
    op.drop_geospatial_index(
        "ix_incidents_geom", table_name="incidents", postgresql_using="gist", column_name="geom"
    )
    op.drop_index("ix_incidents_department_code", table_name="incidents")
    op.drop_geospatial_table("incidents")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("routing_rules")
    op.drop_geospatial_index(
        "ix_area_parts_geom", table_name="area_parts", postgresql_using="gist", column_name="geom"
    )
    op.drop_index("ix_area_parts_area_id", table_name="area_parts")
    op.drop_geospatial_table("area_parts")
    op.drop_index("ix_departments_area_code", table_name="departments")
    op.drop_table("departments")
    op.drop_table("categories")
    op.drop_index("ix_buildings_grid_code", table_name="buildings")
    op.drop_geospatial_index(
        "ix_buildings_geom", table_name="buildings", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("buildings")
    op.drop_index(
        "ix_areas_parent_code", table_name="areas", postgresql_where=sa.text("valid_to IS NULL")
    )
    op.drop_geospatial_index(
        "ix_areas_geom", table_name="areas", postgresql_using="gist", column_name="geom"
    )
    op.drop_index(
        "ix_areas_current_code", table_name="areas", postgresql_where=sa.text("valid_to IS NULL")
    )
    op.drop_geospatial_table("areas")


# Rules the database itself keeps, whichever door a write comes through.
TRIGGERS_UP = [
    # One version per code at any instant: validity periods of a code never overlap.
    """
    ALTER TABLE areas ADD CONSTRAINT ex_areas_code_period
    EXCLUDE USING gist (code WITH =, tstzrange(valid_from, valid_to) WITH &&)
    """,
    # area_parts mirrors the current versions, subdivided so point lookups touch small polygons
    # (ST_Covers on a 64-vertex piece instead of a 5,000-vertex district).
    """
    CREATE FUNCTION gridgov_sync_area_parts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM area_parts WHERE area_id = OLD.id;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.valid_to IS NULL THEN
        INSERT INTO area_parts (area_id, code, level_rank, geom)
        SELECT NEW.id, NEW.code, NEW.level_rank, d.geom
        FROM ST_Subdivide(NEW.geom, 64) AS s(geom), LATERAL ST_Dump(s.geom) AS d
        WHERE GeometryType(d.geom) = 'POLYGON';
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER trg_areas_sync_parts AFTER INSERT OR UPDATE OR DELETE ON areas
    FOR EACH ROW EXECUTE FUNCTION gridgov_sync_area_parts()
    """,
    # History is never rewritten: a version may only be closed (valid_to set once), never edited.
    """
    CREATE FUNCTION gridgov_area_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'area versions are never deleted (area %, version %)', OLD.code, OLD.id
          USING ERRCODE = 'restrict_violation';
      END IF;
      IF OLD.valid_to IS NOT NULL
         OR (to_jsonb(NEW) - 'valid_to') IS DISTINCT FROM (to_jsonb(OLD) - 'valid_to') THEN
        RAISE EXCEPTION 'area version % of % is history: save a new version instead', OLD.id, OLD.code
          USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER trg_areas_immutable BEFORE UPDATE OR DELETE ON areas
    FOR EACH ROW EXECUTE FUNCTION gridgov_area_versions_immutable()
    """,
    """
    CREATE FUNCTION gridgov_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'incident events are append-only' USING ERRCODE = 'restrict_violation';
    END $$
    """,
    """
    CREATE TRIGGER trg_incident_events_append_only BEFORE UPDATE OR DELETE ON incident_events
    FOR EACH ROW EXECUTE FUNCTION gridgov_events_append_only()
    """,
]

TRIGGERS_DOWN = [
    "ALTER TABLE areas DROP CONSTRAINT ex_areas_code_period",
    "DROP TRIGGER trg_areas_sync_parts ON areas",
    "DROP FUNCTION gridgov_sync_area_parts()",
    "DROP TRIGGER trg_areas_immutable ON areas",
    "DROP FUNCTION gridgov_area_versions_immutable()",
    "DROP TRIGGER trg_incident_events_append_only ON incident_events",
    "DROP FUNCTION gridgov_events_append_only()",
]
