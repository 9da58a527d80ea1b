"""The walking graph of the base map's streets, for the nearest on-duty officers (pgRouting).

`basemap_walk_edges` is filled by `gridgov basemap import` from `basemap_roads`
(gis/walking.py). pgRouting (Debian: postgresql-15-pgrouting) is created when the server has it;
without it the nearest officers stay straight-line (docs/patrols.md).
"""

from alembic import op

revision = "0029_walking"
down_revision = "0026_basemap"


def upgrade() -> None:
    op.execute(
        """
        DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting') THEN
            CREATE EXTENSION IF NOT EXISTS pgrouting;
          END IF;
        END $$"""
    )
    op.execute(
        """
        CREATE TABLE basemap_walk_edges (
            id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk_basemap_walk_edges PRIMARY KEY,
            source bigint NOT NULL,
            target bigint NOT NULL,
            length_m double precision NOT NULL,
            geom geometry(LineString, 4326) NOT NULL
        );
        COMMENT ON TABLE basemap_walk_edges IS
            'streets cut where ways share a node: the walking graph (gis/walking.py)';
        CREATE INDEX ix_basemap_walk_edges_geom ON basemap_walk_edges USING gist (geom);
        """
    )
    # The graph of a base map imported before this revision. Derived data: built by the code of
    # the day, like every later import builds it.
    from gis.walking import BUILD_SQL

    op.execute(BUILD_SQL)


def downgrade() -> None:
    op.execute("DROP TABLE basemap_walk_edges")
    op.execute("DROP EXTENSION IF EXISTS pgrouting")
