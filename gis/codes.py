"""Area codes: GB/T-style numbering of children inside a parent."""

from __future__ import annotations

import math

from shapely.geometry.base import BaseGeometry

# Grids are numbered in reading order: rows from north to south, west to east inside a row.
# A "row" is a band of this many metres, so slightly uneven centroids still share a row.
BAND_M = 150.0
M_PER_DEG_LAT = 110_574.0


def number_reading_order(geoms: list[BaseGeometry], band_m: float = BAND_M) -> list[int]:
    """Rank lon/lat geometries 1..n: north→south in `band_m` bands, west→east inside a band."""
    if not geoms:
        return []
    cents = [g.centroid for g in geoms]
    # local equirectangular metres around the group: exact enough to order neighbours
    mean_lat = sum(c.y for c in cents) / len(cents)
    m_per_deg_lon = 111_320.0 * math.cos(math.radians(mean_lat))
    top = max(c.y for c in cents)
    band = [math.floor((top - c.y) * M_PER_DEG_LAT / band_m) for c in cents]
    order = sorted(range(len(geoms)), key=lambda k: (band[k], cents[k].x * m_per_deg_lon))
    ranks = [0] * len(geoms)
    for rank, k in enumerate(order, start=1):
        ranks[k] = rank
    return ranks


def child_code(parent_code: str, rank: int) -> str:
    """The code of the rank-th child: the parent's code plus three digits."""
    if not 1 <= rank <= 999:
        raise ValueError(f"a parent holds at most 999 numbered children, not {rank}")
    return f"{parent_code}{rank:03d}"
