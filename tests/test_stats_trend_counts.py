"""A trend's buckets carry the 督办 and 回访 counts the table adds (docs/metrics.md): each day of
the worked examples' week as the table of that day shows it, kept or computed; and reopening an
urged case, which changes a past day's 督办后结案数, forgets the kept buckets."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.notify_util import notify_client, notify_settings
from tests.test_followup_stats import build_followups
from tests.test_urge import build_urges

COUNTS = ("urges", "urged", "closed_urged", "rated", "satisfied")
DEPT = "CITYMGMT-001"


@pytest.fixture
def client(world_db: str) -> Any:
    yield from notify_client(notify_settings(world_db))


def day_row(client: Any, cast: Any, day: str) -> dict[str, Any]:
    params = {"from": day, "to": day, "group_by": "department"}
    r = client.get("/api/v1/stats", params=params, headers=cast.admin)
    assert r.status_code == 200, r.text
    return next((row for row in r.json()["rows"] if row["code"] == DEPT), {})


def trend(client: Any, cast: Any) -> list[dict[str, Any]]:
    params = {"from": "2025-11-03", "to": "2025-11-09", "group_by": "department", "code": DEPT}
    r = client.get("/api/v1/stats/trend", params=params, headers=cast.admin)
    assert r.status_code == 200, r.text
    return list(r.json()["series"])


def test_trend_buckets_count_urges_and_follow_ups_as_the_table(
    client: Any, cast: Any, world_db: str
) -> None:
    ids = build_urges(client, cast)
    build_followups(client, cast)
    computed = trend(client, cast)
    assert sum(b["urges"] for b in computed) == 2 and sum(b["rated"] for b in computed) == 4
    for bucket in computed:
        day = bucket["from"][:10]
        table = day_row(client, cast, day)
        assert {k: bucket[k] for k in COUNTS} == {k: table.get(k, 0) for k in COUNTS}, day
    assert trend(client, cast) == computed  # kept, the same
    # U1, urged twice and closed on Thursday, reopened: Thursday's 督办后结案数 loses it
    with psycopg.connect(world_db, autocommit=True) as conn:
        before = conn.execute("SELECT generation FROM eval_stale").fetchone()
        conn.execute(
            "UPDATE incidents SET status = 'registered', closed_at = NULL WHERE public_id = %s",
            (ids["U1"],),
        )
        after = conn.execute("SELECT generation FROM eval_stale").fetchone()
    assert before is not None and after is not None and after[0] == before[0] + 1
    again = trend(client, cast)
    assert sum(b["closed_urged"] for b in again) == sum(b["closed_urged"] for b in computed) - 1
