"""Area lineage and import provenance (migration 0021_lineage): columns on `areas` and the
problems an import was allowed to keep (`accepted_problems`)."""

from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY

from api.db.models import areas, id_column, metadata, now_column

# Written by `gridgov import areas` / `gridgov demo` (true) or by a person through the API (false):
# a re-import leaves areas people edited alone unless told otherwise.
areas.append_column(
    sa.Column("imported", sa.Boolean, nullable=False, server_default=sa.text("false")),
    replace_existing=True,
)
# The versions (ids) a split or merge made this version from; NULL for ordinary saves.
areas.append_column(sa.Column("derived_from", ARRAY(sa.BigInteger)), replace_existing=True)
sa.Index("ix_areas_derived_from", areas.c.derived_from, postgresql_using="gin")

accepted_problems = sa.Table(
    "accepted_problems",
    metadata,
    id_column(),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("codes", ARRAY(sa.Text), nullable=False),
    sa.Column("parent_code", sa.Text),
    sa.Column("area_m2", sa.Double),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("accepted_by", sa.Text, nullable=False),
    now_column("accepted_at"),
    sa.CheckConstraint(
        "kind IN ('invalid_geometry','outside_parent','overlap','gap')", name="kind"
    ),
    sa.Index("ix_accepted_problems_codes", "codes", postgresql_using="gin"),
)
