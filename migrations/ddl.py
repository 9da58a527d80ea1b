"""Shapes the migrations share: columns, constraints and indexes GridGov spells one way.

Not a revision (alembic reads only migrations/versions/). Each helper builds exactly what the
migrations wrote out before, so the schema they make is the same; names follow the metadata's
naming convention (api/db/models.py: pk_<table>, fk_<table>_<column>_<referred>, ck_<table>_<x>,
ix_<table>_<columns>).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

TS = sa.DateTime(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())


def col(
    name: str,
    type_: sa.types.TypeEngine[Any],
    comment: str | None = None,
    *,
    nullable: bool = True,
    server_default: str | sa.TextClause | None = None,
) -> sa.Column[object]:
    """A column on one line: nullable unless told otherwise; `comment` is stored in the schema."""
    return sa.Column(name, type_, server_default=server_default, nullable=nullable, comment=comment)


def flag_column(name: str, comment: str | None = None) -> sa.Column[object]:
    """A required boolean that defaults to false."""
    return col(name, sa.Boolean(), comment, nullable=False, server_default=sa.text("false"))


def now_column(name: str, comment: str | None = None) -> sa.Column[object]:
    """A required time that defaults to the transaction's now()."""
    return sa.Column(name, TS, server_default=sa.text("now()"), nullable=False, comment=comment)


def jsonb_column(name: str, comment: str | None = None) -> sa.Column[object]:
    """A required JSON object that defaults to {}."""
    return sa.Column(
        name, JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False, comment=comment
    )


def geometry_column(geometry_type: str) -> sa.Column[object]:
    """The required `geom` column of a spatial table, WGS 84, 2D."""
    return sa.Column(
        "geom",
        Geometry(
            geometry_type=geometry_type,
            srid=4326,
            dimension=2,
            spatial_index=False,
            from_text="ST_GeomFromEWKT",
            name="geometry",
            nullable=False,
        ),
        nullable=False,
    )


def pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*columns, name=op.f(f"pk_{table}"))


def fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    """`table.column` references `target` ("table.column")."""
    referred = target.partition(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def checks(table: str, **conditions: str) -> list[sa.CheckConstraint]:
    """One CHECK constraint ck_<table>_<keyword> per keyword."""
    return [check(table, name, condition) for name, condition in conditions.items()]


def create_index(table: str, *columns: str) -> None:
    """The plain index ix_<table>_<column>[_<column>…] (the naming convention's name)."""
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns), unique=False)


def drop_index(table: str, *columns: str) -> None:
    op.drop_index(f"ix_{table}_{'_'.join(columns)}", table_name=table)


def create_partial_index(name: str, table: str, columns: list[str], where: str) -> None:
    """An index of the rows where `where` holds (dropping it needs only its name)."""
    op.create_index(name, table, columns, unique=False, postgresql_where=sa.text(where))


def create_geometry_index(table: str) -> None:
    """The GiST index ix_<table>_geom."""
    op.create_geospatial_index(
        f"ix_{table}_geom",
        table,
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )


def drop_geometry_index(table: str) -> None:
    op.drop_geospatial_index(
        f"ix_{table}_geom", table_name=table, postgresql_using="gist", column_name="geom"
    )
