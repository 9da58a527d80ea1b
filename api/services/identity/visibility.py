"""Which incidents a user may follow: kept as names other modules import; the rules live in
`api.services.identity.policy` (the one authorization policy), so there is a single source.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from api.services.identity.auth import User
from api.services.identity.policy import AREA_COND, DEPARTMENT_COND, REPORTER_COND, incident_scope

__all__ = ["AREA_COND", "DEPARTMENT_COND", "REPORTER_COND", "incident_visibility"]


def incident_visibility(user: User, alias: str = "i") -> tuple[sql.Composable, dict[str, Any]]:
    """A condition on the incidents row `alias` true for incidents `user` may follow."""
    return incident_scope(user, alias, "incident_list")
