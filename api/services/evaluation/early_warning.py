"""源头治理 (early warning): hotspots of repeated incidents and repeat locations, per scope.

Both read only incidents the caller may follow (`api.services.identity.visibility`): dispatchers and
officers their area, departments their own cases, admins everything; residents get a 403.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from psycopg import Connection

from api.responses import dumps
from api.services.evaluation.hotspot_cache import CachedHotspots, HotspotCache
from api.services.identity.auth import User
from api.services.identity.policy import require_read
from api.services.identity.visibility import incident_visibility
from gis.hotspots import hotspot_features
from gis.repeats import repeat_features
from gis.window import Window


def _staff(user: User, what: str) -> None:
    message = f"{what} are for staff: dispatchers, officers, departments and admins."
    require_read(user, "early_warning", message)  # the rule: policy.READ["early_warning"]


# The default window of hotspots: a week. A city's month is too much to cluster at 100 m: at
# 1,000,000 cases a year (≈ 80,000 a month over 100 km²) every point has five neighbours within
# 100 m, so the month is one cluster of the whole city (77,000 incidents, 1.7 s) that says
# nothing; a week gives the ≈ 300-600 real clusters in 0.1-0.2 s (docs/performance.md,
# 2026-12-05). Longer windows stay available with `days`.
HOTSPOT_DAYS = 7


@dataclass(frozen=True)
class Ask:
    """What a caller asks of an early-warning map: incidents of the last `days` days (up to
    now), of `category` (a code or prefix; None: all), places from `min_count` of them."""

    days: int
    min_count: int
    category: str | None


def _window(user: User, what: str, now: dt.datetime, ask: Ask) -> Window:
    """The incidents the map counts for this caller: the last `days` up to `now` of those it may
    follow (staff only: `what` names the map in the refusal)."""
    _staff(user, what)
    scope, params = incident_visibility(user, "i")
    since = now - dt.timedelta(days=ask.days)
    return Window(since, now, ask.min_count, ask.category, scope, params)


@dataclass(frozen=True)
class HotspotAnswer:
    """A hotspot FeatureCollection: the (maybe cached) features and this call's parameters."""

    entry: CachedHotspots
    tail: bytes  # ,"parameters":{…}}
    cache_hit: bool
    reused: int = 0  # on a miss: features taken from the earlier answer (clusters unchanged)

    def body(self) -> bytes:
        return self.entry.body(self.tail)

    def gzipped(self, level: int) -> bytes:
        return self.entry.gzipped(self.tail, level)


def hotspots(
    conn: Connection[Any],
    user: User,
    now: dt.datetime,
    ask: Ask,
    *,
    radius_m: float,
    cache: HotspotCache | None = None,
) -> HotspotAnswer:
    """Clusters of incidents reported in the last `days` days, a GeoJSON FeatureCollection.

    With `cache`, an earlier answer for the same scope and parameters is served when the
    fingerprint of what would be clustered now equals its own (api/services/evaluation/
    hotspot_cache.py): the same answer the clustering would give, for ≈ 1/10 of its cost; when
    it differs, the clusters that did not change keep their features from it."""
    window = _window(user, "Hotspots", now, ask)
    key = (
        window.scope.as_string(conn),
        repr(sorted(window.scope_params.items())),
        ask.days,
        radius_m,
        ask.min_count,
        ask.category,
    )
    earlier = cache.get(key) if cache is not None else None
    # one statement: the fingerprint of what would be clustered now, and only when it is not
    # the earlier answer's, the clustering, whose unchanged clusters keep their features
    found = hotspot_features(
        conn,
        window,
        radius_m=radius_m,
        reuse=earlier.hotspots if earlier is not None else None,
    )
    hit = earlier is not None and found is earlier.hotspots
    if earlier is not None and found is earlier.hotspots:
        entry = earlier
    else:
        # the features as the database wrote them (JSON text), spliced in without a parse
        entry = CachedHotspots(found)
        if cache is not None:
            cache.put(key, entry)
    if cache is not None:
        cache.count(hit)
    parameters = {
        "days": ask.days,
        "radius_m": radius_m,
        "min_count": ask.min_count,
        "category": ask.category,
        "from": window.since,
        "to": now,
        "method": "ST_ClusterDBSCAN in the WGS 84 / UTM zone of each incident",
    }
    tail = b',"parameters":' + dumps(parameters) + b"}"
    return HotspotAnswer(entry, tail, hit, 0 if hit else found.reused)


def repeats(
    conn: Connection[Any], user: User, now: dt.datetime, ask: Ask, *, level: str
) -> dict[str, Any]:
    """Buildings or grids with ≥ `min_count` incidents of one major class closed in `days`."""
    window = _window(user, "Repeat locations", now, ask)
    features = repeat_features(conn, window, level=level)
    return {
        "type": "FeatureCollection",
        "features": features,
        "parameters": {
            "days": ask.days,
            "min_count": ask.min_count,
            "level": level,
            "category": ask.category,
            "from": window.since,
            "to": now,
        },
    }
