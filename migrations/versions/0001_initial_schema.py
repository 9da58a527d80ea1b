"""Initial schema: PostGIS, areas (versioned) and their parts, reference data, incidents."""

import sqlalchemy as sa
from alembic import op

from migrations.ddl import (
    JSONB,
    TS,
    check,
    checks,
    col,
    create_geometry_index,
    create_index,
    drop_geometry_index,
    drop_index,
    fk,
    flag_column,
    geometry_column,
    jsonb_column,
    now_column,
    pk,
)

revision = "0001"
down_revision = None

# An area's current version.
CURRENT = sa.text("valid_to IS NULL")
# The levels an incident is placed in, finest first: a code and a version id each.
LEVELS = ("grid", "community", "street", "district")
INCIDENT_INDEXED = ("department_code", "grid_code", "reported_at", "status")


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
        geometry_column("MULTIPOLYGON"),
        jsonb_column("attributes"),
        now_column("valid_from"),
        sa.Column("valid_to", TS, nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        *checks(
            "areas",
            code_format="code ~ '^[A-Za-z0-9_.-]{1,64}$'",
            level="level IN ('district', 'street', 'community', 'grid')",
            level_rank="level_rank = array_position(ARRAY['district','street','community','grid'], level)",
            geom_valid="ST_IsValid(geom) AND NOT ST_IsEmpty(geom)",
            not_own_parent="parent_code IS NULL OR parent_code <> code",
            period="valid_to IS NULL OR valid_to > valid_from",
        ),
        pk("areas", "id"),
    )
    for name, column, unique in (
        ("current_code", "code", True),
        ("parent_code", "parent_code", False),
    ):
        op.create_index(
            f"ix_areas_{name}", "areas", [column], unique=unique, postgresql_where=CURRENT
        )
    create_geometry_index("areas")
    op.create_geospatial_table(
        "buildings",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("households", sa.Integer(), nullable=True),
        jsonb_column("attributes"),
        geometry_column("MULTIPOLYGON"),
        sa.Column("grid_code", sa.Text(), nullable=True),
        *checks(
            "buildings",
            geom_valid="ST_IsValid(geom) AND NOT ST_IsEmpty(geom)",
            households="households IS NULL OR households >= 0",
        ),
        pk("buildings", "id"),
        sa.UniqueConstraint("source", "source_id", name=op.f("uq_buildings_source_source_id")),
    )
    create_geometry_index("buildings")
    create_index("buildings", "grid_code")
    op.create_table(
        "categories",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("time_limit", sa.Numeric(), nullable=True),
        sa.Column("time_unit", sa.Text(), nullable=True),
        sa.Column("urgency", sa.Text(), server_default="normal", nullable=False),
        col("area_code", sa.Text(), "owning area of a local ('X') category"),
        jsonb_column("attributes"),
        *checks(
            "categories",
            kind="kind IN ('component', 'event')",
            time_unit="time_unit IN ('natural_hours', 'working_hours', 'working_days')",
            urgency="urgency IN ('normal', 'urgent', 'critical')",
            limit_has_unit="(time_limit IS NULL) = (time_unit IS NULL)",
            time_limit="time_limit IS NULL OR time_limit > 0",
        ),
        fk("categories", "parent_code", "categories.code"),
        pk("categories", "code"),
    )
    op.create_table(
        "departments",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("area_code", sa.Text(), nullable=True),
        jsonb_column("attributes"),
        check("departments", "kind", "kind IN ('territorial', 'functional')"),
        pk("departments", "code"),
    )
    create_index("departments", "area_code")
    op.create_geospatial_table(
        "area_parts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("area_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("level_rank", sa.SmallInteger(), nullable=False),
        geometry_column("POLYGON"),
        fk("area_parts", "area_id", "areas.id", ondelete="CASCADE"),
        pk("area_parts", "id"),
    )
    create_index("area_parts", "area_id")
    create_geometry_index("area_parts")
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("category_prefix", sa.Text(), server_default="", nullable=False),
        sa.Column("area_prefix", sa.Text(), server_default="", nullable=False),
        sa.Column("department_code", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        fk("routing_rules", "department_code", "departments.code", ondelete="CASCADE"),
        pk("routing_rules", "id"),
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
        flag_column("disabled"),
        now_column("created_at"),
        *checks(
            "users",
            dept_has_dept="role <> 'department' OR department_code IS NOT NULL",
            role="role IN ('admin', 'dispatcher', 'officer', 'department', 'resident')",
            scoped_has_area="role NOT IN ('dispatcher', 'officer') OR area_code IS NOT NULL",
        ),
        fk("users", "department_code", "departments.code"),
        pk("users", "id"),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False, comment="sha256 hex; never the token"),
        sa.Column("prefix", sa.Text(), nullable=False),
        now_column("created_at"),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        fk("api_tokens", "user_id", "users.id", ondelete="CASCADE"),
        pk("api_tokens", "id"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_geospatial_table(
        "incidents",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("public_id", sa.Text(), nullable=False),
        geometry_column("POINT"),
        sa.Column("orig_x", sa.Double(), nullable=False),
        sa.Column("orig_y", sa.Double(), nullable=False),
        sa.Column("orig_crs", sa.Text(), nullable=False),
        sa.Column("category_code", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        jsonb_column("reporter"),
        sa.Column("reporter_user_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), server_default="reported", nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("distance_m", sa.Double(), server_default="0", nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=True),
        *[sa.Column(f"{level}_code", sa.Text(), nullable=True) for level in LEVELS],
        sa.Column("responsible_area_code", sa.Text(), nullable=False),
        *[sa.Column(f"{level}_version_id", sa.BigInteger(), nullable=True) for level in LEVELS],
        sa.Column("department_code", sa.Text(), nullable=True),
        sa.Column("rule_id", sa.BigInteger(), nullable=True),
        col("assignment", JSONB, "the assignment as returned to the client", nullable=False),
        sa.Column("due_at", TS, nullable=True),
        now_column("reported_at"),
        now_column("updated_at"),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_hash", sa.Text(), nullable=True),
        flag_column("is_demo"),
        *checks(
            "incidents",
            method="method IN ('building', 'inside', 'nearest', 'outside')",
            grid_methods_have_grid=(
                "method NOT IN ('building', 'inside', 'nearest') OR grid_code IS NOT NULL"
            ),
            source="source IN ('resident', 'patrol', 'hotline', 'officer', 'open311', 'api', 'import')",
            status="status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled', "
            "'closed', 'rejected', 'suspended')",
            idem_hash="(idempotency_key IS NULL) = (request_hash IS NULL)",
            description_length="char_length(description) <= 4000",
            distance="distance_m >= 0",
        ),
        fk("incidents", "building_id", "buildings.id", ondelete="SET NULL"),
        fk("incidents", "category_code", "categories.code"),
        fk("incidents", "community_version_id", "areas.id"),
        fk("incidents", "department_code", "departments.code"),
        fk("incidents", "district_version_id", "areas.id"),
        fk("incidents", "grid_version_id", "areas.id"),
        fk("incidents", "reporter_user_id", "users.id"),
        fk("incidents", "rule_id", "routing_rules.id", ondelete="SET NULL"),
        fk("incidents", "street_version_id", "areas.id"),
        pk("incidents", "id"),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_incidents_idempotency_key")),
        sa.UniqueConstraint("public_id", name=op.f("uq_incidents_public_id")),
    )
    create_geometry_index("incidents")
    for column in INCIDENT_INDEXED:
        create_index("incidents", column)
    op.create_table(
        "incident_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        now_column("at"),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("department_code", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        jsonb_column("data"),
        fk("incident_events", "incident_id", "incidents.id"),
        pk("incident_events", "id"),
    )
    create_index("incident_events", "incident_id")

    for statement in TRIGGERS_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in TRIGGERS_DOWN:
        op.execute(statement)
    drop_index("incident_events", "incident_id")
    op.drop_table("incident_events")
    for column in reversed(INCIDENT_INDEXED):
        drop_index("incidents", column)
    drop_geometry_index("incidents")
    op.drop_geospatial_table("incidents")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("routing_rules")
    drop_geometry_index("area_parts")
    drop_index("area_parts", "area_id")
    op.drop_geospatial_table("area_parts")
    drop_index("departments", "area_code")
    op.drop_table("departments")
    op.drop_table("categories")
    drop_index("buildings", "grid_code")
    drop_geometry_index("buildings")
    op.drop_geospatial_table("buildings")
    op.drop_index("ix_areas_parent_code", table_name="areas")
    drop_geometry_index("areas")
    op.drop_index("ix_areas_current_code", table_name="areas")
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
