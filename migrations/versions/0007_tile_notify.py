"""Vector tiles: every write to areas, buildings or incidents announces the box it touched.

A statement-level trigger (one NOTIFY per statement, not per row) sends the extent of the changed
rows, old and new, on channel 'gridgov_tiles' as {"table", "bbox": [x0, y0, x1, y1]}. NOTIFY is
delivered on commit only, to every listening GridGov process, so each one drops exactly the
cached tiles that box meets, whichever door the write came through (API, CLI import, psql).
"""

from alembic import op

revision = "0007_tile_notify"
down_revision = "0001"

TABLES = ("areas", "buildings", "incidents")

FUNCTION = """
CREATE FUNCTION gridgov_tiles_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    e box2d;
BEGIN
    -- Only the transition tables this trigger declares exist; each branch names its own.
    IF TG_OP = 'INSERT' THEN
        SELECT ST_Extent(geom) INTO e FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT ST_Extent(geom) INTO e FROM old_rows;
    ELSE
        SELECT ST_Extent(g) INTO e FROM (
            SELECT geom AS g FROM old_rows UNION ALL SELECT geom FROM new_rows) r;
    END IF;
    IF e IS NOT NULL THEN
        PERFORM pg_notify('gridgov_tiles', json_build_object(
            'table', TG_TABLE_NAME,
            'bbox', json_build_array(ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)))::text);
    END IF;
    RETURN NULL;
END $$
"""

# PostgreSQL allows transition tables on single-event triggers only: three per table.
REFERENCING = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.execute(FUNCTION)
    for table in TABLES:
        for event, referencing in REFERENCING.items():
            op.execute(
                f"CREATE TRIGGER {table}_tiles_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {referencing} FOR EACH STATEMENT "
                "EXECUTE FUNCTION gridgov_tiles_notify()"
            )


def downgrade() -> None:
    for table in TABLES:
        for event in REFERENCING:
            op.execute(f"DROP TRIGGER {table}_tiles_{event.lower()} ON {table}")
    op.execute("DROP FUNCTION gridgov_tiles_notify()")
