"""The negative list (负面清单) and per-group trends, both built on
`api.services.evaluation.stats`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from psycopg import Connection

from api.db.at_once import Spare, at_once
from api.errors import BadRequest, NotFound
from api.services.evaluation.bucket_cache import keep, open_kept, read_kept
from api.services.evaluation.buckets import bucket_rows
from api.services.evaluation.followup import (
    FOLLOWUP_AGGREGATES,
    FOLLOWUP_COUNTS,
    FOLLOWUP_FACTS,
)
from api.services.evaluation.live_sets import live_of_ends
from api.services.evaluation.query import Over, areas_in_scope, group_names, group_times
from api.services.evaluation.rollup import area_level, source
from api.services.evaluation.rollup_read import TIMES_KEYS
from api.services.evaluation.stats import (
    METRICS,
    Period,
    check_grouping,
    figure_row,
    figures,
    group_rows,
    missed_checkins,
    rate_of,
    scope_of,
)
from api.services.evaluation.urge import (
    URGE_AGGREGATES,
    URGE_COUNTS,
    URGE_FACTS,
    fact_counts_by_bucket,
)
from api.services.identity.auth import User
from api.settings import EvaluationSettings
from web_map.i18n import CHINESE, N_, Translator

INTERVALS = ("day", "week", "month")
# At most this many flags kept, their handling times are read for them alone after judging
# (a month by grid at 1,000,000 cases: 500 grids' ≈ 10 ms, 1,000's 18–30 ms, against 69–75 ms
# for all 10,000 with two parallel workers, docs/performance.md); more, with the sums
KEPT_TIMES_MAX = 1_000
MAX_BUCKETS = 62


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


# The rates the negative list can judge: (rate, threshold setting, flagged below it), each off
# at the threshold that nothing passes (GRIDGOV_FLAG_*)
RULES = (
    ("on_time_handling_rate", "flag_on_time_rate_min", True),
    ("closing_rate", "flag_closing_rate_min", True),
    ("rework_rate", "flag_rework_rate_max", False),
    ("return_rate", "flag_return_rate_max", False),
    ("satisfaction_rate", "flag_satisfaction_rate_min", True),  # 回访 (followup.py)
    ("followup_rate", "flag_followup_rate_min", True),
)
# A reason's `message` is in the caller's language: a rate's name from the catalogue
# (按期处置率 40.0% < 80.0%), and this for missed check-ins
MISSED_MESSAGE = N_("Check-ins missed: {n} (more than {max})")
_METRIC_WORDS = {m.key: m.en for m in METRICS}


def rules(s: EvaluationSettings, tr: Translator = CHINESE) -> list[tuple[str, str, float, bool]]:
    """The rules in force: the on-time handling rate always, the others unless switched off;
    (rate, its name in `tr`'s language, threshold, flagged below it)."""
    out = []
    for rate, setting, below in RULES:
        threshold = getattr(s, setting)
        if rate == "on_time_handling_rate" or (threshold > 0 if below else threshold < 1):
            out.append((rate, tr(_METRIC_WORDS[rate]), threshold, below))
    return out


def breaches(
    raw: dict[str, Any],
    s: EvaluationSettings,
    in_force: list[tuple[str, str, float, bool]] | None = None,
    tr: Translator = CHINESE,
) -> list[dict[str, Any]]:
    """Why a group is on the negative list (empty: it is not), from its raw row (`stats_rows`),
    with the rates `figures` would give it, told in `tr`'s language. `in_force`: `rules(s, tr)`,
    found once for many rows."""
    out: list[dict[str, Any]] = []
    for rate, label, threshold, below in rules(s, tr) if in_force is None else in_force:
        value, due = rate_of(raw, rate)
        if value is None or due < s.flag_min_due:
            continue
        if (below and value < threshold) or (not below and value > threshold):
            sign = "<" if below else ">"
            message = f"{label} {_pct(value)} {sign} {_pct(threshold)}"
            out.append({"metric": rate, "value": value, "threshold": threshold, "message": message})
    missed = missed_checkins(raw)
    if missed > s.flag_missed_checkins_max:
        limit = s.flag_missed_checkins_max
        out.append(
            {
                "metric": "checkin_missed",
                "value": missed,
                "threshold": limit,
                "message": tr(MISSED_MESSAGE, n=missed, max=limit),
            }
        )
    return out


def thresholds(s: EvaluationSettings) -> dict[str, Any]:
    """The thresholds in force, as the settings name them."""
    return {
        "on_time_rate_min": s.flag_on_time_rate_min,
        "closing_rate_min": s.flag_closing_rate_min,
        "rework_rate_max": s.flag_rework_rate_max,
        "return_rate_max": s.flag_return_rate_max,
        "missed_checkins_max": s.flag_missed_checkins_max,
        "min_due": s.flag_min_due,
        "satisfaction_rate_min": s.flag_satisfaction_rate_min,
        "followup_rate_min": s.flag_followup_rate_min,
    }


def _names(conn: Connection[Any], over: Over, codes: list[str]) -> dict[str, str]:
    """The names of the groups `codes`, as the statistics table names them: by area, those of
    every current area of the level in the scope at once (4,000 grids of a city: one index
    scan, not 4,000 codes sent), and the others by code."""
    names: dict[str, str] = {}
    if codes and over.group_by == "area" and over.scope_department is None:
        assert over.level is not None
        names = areas_in_scope(conn, over.level, over.scope_area)
    unnamed = [c for c in codes if c not in names]
    if unnamed:
        names |= group_names(conn, over.group_by, unnamed)
    return names


def _flagged(
    conn: Connection[Any],
    over: Over,
    settings: EvaluationSettings,
    in_force: list[tuple[str, str, float, bool]],
    tr: Translator,
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The groups of `over`'s grouping on the negative list, by code, with reasons, each with
    its raw row (its figures are built for the flags the list keeps: `negative_list`).

    Judged on the groups' raw rows; only the flagged ones are named (a city's 10,000 grids: the
    rows with nothing to count cannot breach, docs/performance.md)."""
    found: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for raw in group_rows(conn, over):
        if raw["key"] is not None:
            reasons = breaches(raw, settings, in_force, tr)
            if reasons:
                found[raw["key"]] = (raw, reasons)
    names = _names(conn, over, list(found))
    flags = []
    for code in sorted(found):
        raw, reasons = found[code]
        flag = {
            "kind": over.group_by,
            "level": over.level,
            "code": code,
            "name": names.get(code, code),
            "reasons": reasons,
        }
        flags.append((flag, raw))
    return flags


def negative_list(
    conn: Connection[Any],
    user: User | None,
    settings: EvaluationSettings,
    period: Period,
    level: str | None,
    spare: Spare | None = None,
    tr: Translator = CHINESE,
    *,
    more: Callable[[dict[str, Any]], None] | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Departments, then areas (at `level`), breaching a threshold in the period, with reasons
    and figures; `matched`: how many.

    `spare`: a second connection's source (`at_once`): the departments are judged on it while
    the areas are judged on `conn` (a month by grid at 1,000,000 cases: 52 ms beside 99 ms,
    docs/performance.md); None: one after the other. `tr`: the language of the reasons'
    messages. `more`: adds the flags of another source before they are counted, merging
    reasons into the flags listed and appending new flags after them, with their own figures
    (the grids nobody patrolled: `add_unpatrolled_flags`). `limit`: the first flags only (a
    month of a city by grid flags thousands of grids; a page shows 500), and only theirs are
    given figures."""
    scope = scope_of(user)
    level = check_grouping("area", level)
    in_force = rules(settings, tr)
    # a few flags kept (the page's 500): judged on the sums alone, the handling times read for
    # the kept afterwards; otherwise with the sums, in the same statement
    times_after = limit is not None and limit <= KEPT_TIMES_MAX
    by_area, by_department = (
        Over(
            period.start,
            period.as_of,
            group_by,
            lvl,
            scope.area,
            scope.department,
            total=False,
            times=not times_after,
        )
        for group_by, lvl in (("area", level), ("department", None))
    )
    areas, departments = at_once(
        conn,
        spare,
        lambda c: _flagged(c, by_area, settings, in_force, tr),
        lambda c: _flagged(c, by_department, settings, in_force, tr),
    )
    judged = departments + areas
    doc: dict[str, Any] = {
        "period": period.as_json(),
        "level": level,
        "thresholds": thresholds(settings),
        "flags": [flag for flag, _ in judged],
    }
    if more is not None:
        more(doc)
    flags: list[dict[str, Any]] = doc["flags"]
    doc["matched"] = len(flags)
    if limit is not None:
        doc["flags"] = flags[:limit]
        judged = judged[:limit]  # (first in the list: `more` appends after them)
    if times_after:
        judged = _with_kept_times(conn, spare, judged, by_area, by_department)
    for flag, raw in judged:
        flag["figures"] = figure_row(flag["code"], flag["name"], raw)
    return doc


def _with_kept_times(
    conn: Connection[Any],
    spare: Spare | None,
    judged: list[tuple[dict[str, Any], dict[str, Any]]],
    by_area: Over,
    by_department: Over,
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The flags kept with their raw rows given their handling times, read for them alone: the
    grids' beside the departments'."""
    area_times, department_times = at_once(
        conn,
        spare,
        lambda c: group_times(c, by_area, [f["code"] for f, _ in judged if f["kind"] == "area"]),
        lambda c: group_times(
            c, by_department, [f["code"] for f, _ in judged if f["kind"] == "department"]
        ),
    )
    out = []
    for flag, raw in judged:
        times = (area_times if flag["kind"] == "area" else department_times).get(flag["code"])
        if times is not None:
            raw = raw | dict(zip(TIMES_KEYS, times, strict=True))
        out.append((flag, raw))
    return out


def _next_boundary(at: dt.datetime, interval: str, period: Period) -> dt.datetime:
    local = at.astimezone(period.tz)
    day = local.date()
    if interval == "day":
        nxt = day + dt.timedelta(days=1)
    elif interval == "week":  # weeks start on Monday
        nxt = day + dt.timedelta(days=7 - day.weekday())
    else:
        nxt = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return dt.datetime.combine(nxt, dt.time(0), period.tz)


def buckets(period: Period, interval: str | None) -> tuple[str, list[tuple[dt.datetime, ...]]]:
    """Calendar buckets (local days, Monday weeks, months) covering the period up to `as_of`."""
    span = period.end - period.start
    if interval is None:
        interval = "day" if span <= dt.timedelta(days=31) else "week"
        if span > dt.timedelta(weeks=26):
            interval = "month"
    if interval not in INTERVALS:
        raise BadRequest(f"interval must be one of {', '.join(INTERVALS)}.")
    out: list[tuple[dt.datetime, ...]] = []
    start = period.start
    while start < period.as_of:
        end = min(_next_boundary(start, interval, period), period.end)
        out.append((start, end))
        if len(out) > MAX_BUCKETS:
            raise BadRequest(
                f"That is more than {MAX_BUCKETS} {interval}s: choose a longer interval."
            )
        start = end
    return interval, out


# Whether a code names a group: its reference row. Departments and categories are never deleted
# (incidents refer to them) and areas keep every version, so a code with history is always found.
KNOWN_CODE_SQL = {
    "department": "SELECT EXISTS (SELECT 1 FROM departments WHERE code = %(code)s) AS known",
    "area": "SELECT EXISTS (SELECT 1 FROM areas WHERE code = %(code)s AND level = %(level)s) "
    "AS known",
    "category": "SELECT EXISTS (SELECT 1 FROM categories WHERE code = %(code)s) AS known",
}
UNKNOWN_CODE = {
    "department": "No department with code '{code}'.",
    "area": "No area of level {level} has ever had code '{code}'.",
    "category": "No category with code '{code}'.",
}


def require_group(conn: Connection[Any], group_by: str, level: str | None, code: str) -> None:
    """404 for a code that names no group (a typo must not read as a trend of zeros)."""
    row = conn.execute(KNOWN_CODE_SQL[group_by], {"code": code, "level": level}).fetchone()
    if row is None or not row["known"]:
        message = UNKNOWN_CODE[group_by].format(code=code, level=level)
        raise NotFound(message, {"code": code, "group_by": group_by, "level": level})


# one group of a grouping: (group_by, level, code), e.g. ("area", "grid", "110199001001001")
GroupCode = tuple[str, str | None, str]


def trend(
    conn: Connection[Any],
    user: User | None,
    period: Period,
    group: GroupCode,
    interval: str | None,
    spare: Spare | None,
    primary: Spare | None = None,
) -> dict[str, Any]:
    """One group's figures per calendar bucket of the period (same definitions as the table);
    `spare`: a second connection's source, to read a large group's buckets in two parts at once
    (`buckets.bucket_rows`; None: one part after the other); `primary`: where `conn` is a
    replica's, a source of a primary's connection to keep the past buckets on."""
    group_by, level, code = group
    level = check_grouping(group_by, level)
    scope = scope_of(user)  # 403 first: who may not read figures learns nothing of codes
    require_group(conn, group_by, level, code)
    interval, spans = buckets(period, interval)
    ends = [min(end, period.as_of) for _, end in spans]
    # (one group's row per bucket: no total)
    overs = [
        Over(start, end, group_by, level, scope.area, scope.department, total=False)
        for (start, _), end in zip(spans, ends, strict=True)
    ]
    # the buckets that ended an hour ago or more, kept (bucket_cache); the others computed
    kept = open_kept(conn, (group_by, level, scope.area, scope.department))
    periods = [(o.t_from, o.t_end) for o in overs]
    rows = read_kept(conn, kept, code, periods)
    todo = [i for i in range(len(overs)) if i not in rows]
    from_log = source(group_by, level, area_level(conn, scope.area), scope.department) == "log"
    for run in _runs(todo):
        # the incidents live at each bucket's end that can count for the group, found at once
        live = None if from_log else _live(conn, [ends[i] for i in run], group_by, level, code)
        in_run = overs[run[0] : run[-1] + 1]
        computed = _with_counts(conn, in_run, code, bucket_rows(conn, in_run, code, live, spare))
        rows.update(zip(run, computed, strict=True))
    keep(conn, kept, code, [(periods[i], rows[i]) for i in todo], primary)
    series = [
        {
            "from": start.astimezone(period.tz).isoformat(),
            "to": end.astimezone(period.tz).isoformat(),
            **figures(row),
        }
        for (start, end), row in zip(spans, [rows[i] for i in range(len(spans))], strict=True)
    ]
    return {
        "period": period.as_json(),
        "group_by": group_by,
        "level": level,
        "code": code,
        "interval": interval,
        "series": series,
    }


# 督办 and 回访: the facts and counts the table adds (stats.group_rows)
COUNTED = (
    ((URGE_FACTS, URGE_AGGREGATES), URGE_COUNTS),
    ((FOLLOWUP_FACTS, FOLLOWUP_AGGREGATES), FOLLOWUP_COUNTS),
)


def _with_counts(
    conn: Connection[Any], overs: list[Over], code: str, rows: list[dict[str, Any] | None]
) -> list[dict[str, Any] | None]:
    """Each bucket's row (`overs`: contiguous) with its urge and follow-up counts, as the table
    adds them (`merge_counts`: where there are any; a bucket with nothing else to count gets a
    row of them alone); two statements for all the buckets."""
    out = list(rows)
    for facts, names in COUNTED:
        for i, counts in enumerate(fact_counts_by_bucket(conn, facts, names, overs, code)):
            if any(counts.values()):
                out[i] = {**(out[i] or {"key": code, "total": False}), **counts}
    return out


def _runs(indexes: list[int]) -> list[list[int]]:
    """`indexes` (ascending) in runs of consecutive ones: the contiguous buckets to compute."""
    runs: list[list[int]] = []
    for i in indexes:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _live(
    conn: Connection[Any], ends: list[dt.datetime], group_by: str, level: str | None, code: str
) -> list[list[int]]:
    found = live_of_ends(conn, ends, group_by, level, code)
    return [found.get(end, []) for end in ends]
