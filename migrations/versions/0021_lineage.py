"""Area lineage (derived_from), import provenance (imported) and accepted import problems."""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.ddl import check, now_column, pk

revision = "0021_lineage"
down_revision = "0001"


def upgrade() -> None:
    op.add_column(
        "areas",
        sa.Column("imported", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("areas", sa.Column("derived_from", postgresql.ARRAY(sa.BigInteger())))
    op.create_index(
        "ix_areas_derived_from", "areas", ["derived_from"], postgresql_using="gin", unique=False
    )
    # Versions written by imports so far were stamped with the import's actor; mark them so a
    # re-import treats them as imported, not as a person's edit. History is immutable by
    # trigger, which this one-time backfill of a new column has to pass.
    op.execute("ALTER TABLE areas DISABLE TRIGGER trg_areas_immutable")
    op.execute("ALTER TABLE areas DISABLE TRIGGER trg_areas_sync_parts")
    op.execute("UPDATE areas SET imported = true WHERE created_by IN ('import', 'demo')")
    op.execute("ALTER TABLE areas ENABLE TRIGGER trg_areas_sync_parts")
    op.execute("ALTER TABLE areas ENABLE TRIGGER trg_areas_immutable")
    op.create_table(
        "accepted_problems",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("codes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("parent_code", sa.Text(), nullable=True),
        sa.Column("area_m2", sa.Double(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                srid=4326, spatial_index=False, from_text="ST_GeomFromEWKT", name="geometry"
            ),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("accepted_by", sa.Text(), nullable=False),
        now_column("accepted_at"),
        check(
            "accepted_problems",
            "kind",
            "kind IN ('invalid_geometry','outside_parent','overlap','gap')",
        ),
        pk("accepted_problems", "id"),
    )
    op.create_index(
        "ix_accepted_problems_codes",
        "accepted_problems",
        ["codes"],
        postgresql_using="gin",
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_accepted_problems_codes", table_name="accepted_problems")
    op.drop_table("accepted_problems")
    op.drop_index("ix_areas_derived_from", table_name="areas")
    op.drop_column("areas", "derived_from")
    op.drop_column("areas", "imported")
