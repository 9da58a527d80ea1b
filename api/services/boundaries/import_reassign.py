"""Open incidents after a grid import: the ones whose grid changed move, with a `reassign` event.

The candidates come from one set-based, grid-driven statement over all open incidents
(gis.bulk_assign.open_incidents_to_regrid: the covering grid differs from the stored one); each
candidate is then assigned again with the full rules and updated exactly as a boundary edit does
(services.area_impact.reassign_incidents: same statements, same event shape), all in the
import's transaction. Closed and rejected incidents keep their historical assignment.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from api.services.boundaries.impact import Cause, reassign_incidents
from api.settings import Settings
from gis.bulk_assign import open_incidents_to_regrid


def reassign_after_import(
    conn: Connection[Any], settings: Settings, cause: Cause
) -> list[dict[str, Any]]:
    """Move the open incidents whose grid the import changed; returns {id, status, from, to}."""
    return reassign_incidents(conn, settings, open_incidents_to_regrid(conn), cause)
