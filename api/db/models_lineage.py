"""Area lineage and import provenance (migration 0021_lineage): columns on `areas` and the
problems an import was allowed to keep (`accepted_problems`)."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    Index,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from api.db.models import areas, metadata

# Written by `gridgov import areas` / `gridgov demo` (true) or by a person through the API (false):
# a re-import leaves areas people edited alone unless told otherwise.
areas.append_column(
    Column("imported", Boolean, nullable=False, server_default=text("false")), replace_existing=True
)
# The versions (ids) a split or merge made this version from; NULL for ordinary saves.
areas.append_column(Column("derived_from", ARRAY(BigInteger)), replace_existing=True)
Index("ix_areas_derived_from", areas.c.derived_from, postgresql_using="gin")

accepted_problems = Table(
    "accepted_problems",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("codes", ARRAY(Text), nullable=False),
    Column("parent_code", Text),
    Column("area_m2", Double),
    Column("message", Text, nullable=False),
    Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
    Column("source", Text, nullable=False),
    Column("accepted_by", Text, nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("kind IN ('invalid_geometry','outside_parent','overlap','gap')", name="kind"),
    Index("ix_accepted_problems_codes", "codes", postgresql_using="gin"),
)
