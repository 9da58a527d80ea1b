"""Patrol coverage kept current as it is walked, so that a period's coverage is a read.

Until now a period's coverage was computed from the fixes on every request (≈ 37 s for one day
of 5,000 officers; a week or a month passed the statement timeout). Now (docs/patrols.md,
Coverage; docs/performance.md, 2026-12-06):

- `patrol_lattices`: per version of a grid, a lattice of cells (GRIDGOV_PATROL_CELL_M, 10 m) over
  its bounding box: which cells have their centre in the grid (`mask`) and which hold a street
  of the base map (`roads`), with the grid's exact area and street length.
- `patrol_cover_dirty`: the 15-minute pieces (`chunk`: epoch seconds / 900) of a patrol that
  received fixes since they were last folded. Every batch of fixes marks its pieces.
- `patrol_cover_parts`: per patrol, range of pieces, grid and local day: distance, time, the
  covered cells, and the exact covered area and street length of that range's track.
- `patrol_grid_days` gains the day's union of covered cells and the sums the estimate of a
  period's union needs. Rows without cells (days pruned before this migration) keep their
  covered share.

Existing fixes are marked, so the first fold computes their parts.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BIT

from migrations.ddl import create_index, drop_index, fk, pk

revision = "0033_patrol_cells"
down_revision = "0032_eval_last_fact"

VARBIT = BIT(varying=True)
_SUMS = ("reach_m2", "reach_cells", "road_m", "road_cells")


def _required(type_: sa.types.TypeEngine[object], *names: str) -> list[sa.Column[object]]:
    return [sa.Column(name, type_, nullable=False) for name in names]


def _sums() -> list[sa.Column[object]]:
    return [
        sa.Column("reach_m2", sa.Double(), nullable=True, comment="Σ exact covered area (m²)"),
        sa.Column("reach_cells", sa.Integer(), nullable=True, comment="Σ covered cells"),
        sa.Column("road_m", sa.Double(), nullable=True, comment="Σ exact covered streets (m)"),
        sa.Column("road_cells", sa.Integer(), nullable=True, comment="Σ covered street cells"),
    ]


def upgrade() -> None:
    op.create_table(
        "patrol_lattices",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("area_id", sa.BigInteger(), nullable=False, comment="the grid's version"),
        *_required(sa.Text(), "grid_code"),
        *_required(sa.Double(), "x0", "y0", "dx", "dy"),
        *_required(sa.Integer(), "ncols", "nrows"),
        sa.Column("mask", VARBIT, nullable=False, comment="cells whose centre is in the grid"),
        sa.Column("roads", VARBIT, nullable=False, comment="cells of the grid holding a street"),
        *_required(sa.Double(), "area_m2", "road_len_m"),
        fk("patrol_lattices", "area_id", "areas.id"),
        pk("patrol_lattices", "id"),
    )
    op.create_index("ix_patrol_lattices_area_id", "patrol_lattices", ["area_id"], unique=True)
    op.create_table(
        "patrol_cover_dirty",
        sa.Column("patrol_id", sa.BigInteger(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False, comment="epoch seconds / 900"),
        sa.Column("marks", sa.Integer(), server_default=sa.text("1"), nullable=False),
        pk("patrol_cover_dirty", "patrol_id", "chunk"),
    )
    op.create_table(
        "patrol_cover_parts",
        sa.Column("patrol_id", sa.BigInteger(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False, comment="first piece: epoch s / 900"),
        sa.Column("chunk_to", sa.Integer(), nullable=False, comment="last piece"),
        *_required(sa.Text(), "grid_code"),
        *_required(sa.Date(), "day"),
        *_required(sa.BigInteger(), "lattice_id"),
        *_required(sa.Double(), "distance_m", "seconds"),
        *_required(VARBIT, "cells"),
        *_sums(),
        fk("patrol_cover_parts", "patrol_id", "patrols.id", ondelete="CASCADE"),
        fk("patrol_cover_parts", "lattice_id", "patrol_lattices.id"),
        pk("patrol_cover_parts", "patrol_id", "chunk", "grid_code", "day"),
    )
    create_index("patrol_cover_parts", "grid_code", "day")
    op.add_column("patrol_grid_days", sa.Column("lattice_id", sa.BigInteger(), nullable=True))
    op.add_column("patrol_grid_days", sa.Column("cells", VARBIT, nullable=True))
    for column in _sums():
        op.add_column("patrol_grid_days", column)
    op.execute(
        "INSERT INTO patrol_cover_dirty (patrol_id, chunk) "
        "SELECT DISTINCT patrol_id, floor(extract(epoch FROM at) / 900)::int FROM patrol_fixes"
    )


def downgrade() -> None:
    for name in ("lattice_id", "cells", *_SUMS):
        op.drop_column("patrol_grid_days", name)
    drop_index("patrol_cover_parts", "grid_code", "day")
    op.drop_table("patrol_cover_parts")
    op.drop_table("patrol_cover_dirty")
    op.drop_index("ix_patrol_lattices_area_id", table_name="patrol_lattices")
    op.drop_table("patrol_lattices")
