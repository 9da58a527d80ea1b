"""综合评价: counts and rates per department, area or category over a period (docs/metrics.md).

The figures come from `api.services.evaluation.query` (SQL over the event log); this module decides
the period, who may see which rows, and turns raw counts into the documented rates.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import Connection

from api.dates import check_year
from api.db.at_once import Spare
from api.errors import BadRequest, Forbidden
from api.services.evaluation.followup import add_followup_counts
from api.services.evaluation.live_sets import AREA_LEVELS
from api.services.evaluation.query import Over, areas_in_scope, group_names, stats_rows
from api.services.evaluation.urge import add_urge_counts
from api.services.identity.auth import User
from api.services.identity.policy import READ, role_of
from web_map.i18n import CHINESE, N_, Translator

GROUP_BYS = ("department", "area", "category")
DEFAULT_DAYS = 30
MAX_DAYS = 3660
RATE_DIGITS = 4


@dataclass(frozen=True)
class Metric:
    """One column of the statistics: key, Chinese name, English name (its catalogue id: the
    label is `tr(en)`), kind and which direction is good."""

    key: str
    zh: str
    en: str
    kind: str  # count | rate | hours
    good: str = "up"  # up: more is better; down: less is better; none


METRICS: tuple[Metric, ...] = (
    Metric("reported", "上报数", N_("reported"), "count", "none"),
    Metric("registered", "立案数", N_("registered"), "count", "none"),
    Metric("dispatched", "派遣数", N_("dispatched"), "count", "none"),
    Metric("handled", "处置数", N_("handled"), "count", "none"),
    Metric("closed", "结案数", N_("closed"), "count", "none"),
    Metric("rejected", "作废数", N_("rejected"), "count", "none"),
    Metric("returned", "退回数", N_("returned"), "count", "down"),
    Metric("open", "在办数", N_("open at end"), "count", "none"),
    Metric("overdue", "超期数", N_("overdue at end"), "count", "down"),
    Metric("handle_due", "应处置数", N_("due to be handled"), "count", "none"),
    Metric("handle_on_time", "按期处置数", N_("handled on time"), "count", "up"),
    Metric("close_due", "应结案数", N_("due to be closed"), "count", "none"),
    Metric("close_done", "已结案数", N_("closed of due"), "count", "up"),
    Metric("close_on_time", "按期结案数", N_("closed on time"), "count", "up"),
    Metric("reworked", "返工数", N_("reworked"), "count", "down"),
    Metric("checkin_due", "应报到数", N_("check-ins due"), "count", "none"),
    Metric("checkin_on_time", "按时报到数", N_("check-ins on time"), "count", "up"),
    Metric("checkin_missed", "未按时报到数", N_("check-ins missed"), "count", "down"),
    Metric("urges", "督办次数", N_("urges"), "count", "down"),
    Metric("urged", "督办件数", N_("cases urged"), "count", "down"),
    Metric("closed_urged", "督办后结案数", N_("closed after being urged"), "count", "none"),
    Metric("rated", "回访数", N_("followed up"), "count", "none"),
    Metric("satisfied", "满意数", N_("satisfied"), "count", "up"),
    Metric("on_time_handling_rate", "按期处置率", N_("on-time handling rate"), "rate", "up"),
    Metric("closing_rate", "结案率", N_("closing rate"), "rate", "up"),
    Metric("on_time_closing_rate", "按期结案率", N_("on-time closing rate"), "rate", "up"),
    Metric("rework_rate", "返工率", N_("rework rate"), "rate", "down"),
    Metric("return_rate", "退回率", N_("return rate"), "rate", "down"),
    Metric("checkin_on_time_rate", "报到按时率", N_("check-in on-time rate"), "rate", "up"),
    Metric("satisfaction_rate", "满意率", N_("satisfaction rate"), "rate", "up"),
    Metric("followup_rate", "回访率", N_("follow-up rate"), "rate", "up"),
    Metric("handling_n", "处置计时数", N_("handlings timed"), "count", "none"),
    Metric("avg_handling_hours", "平均处置时长(时)", N_("average handling hours"), "hours", "down"),
    Metric("p90_handling_hours", "P90处置时长(时)", N_("p90 handling hours"), "hours", "down"),
)
METRIC_KEYS = tuple(m.key for m in METRICS)
# (rate, numerator, denominator)
RATES = (
    ("on_time_handling_rate", "handle_on_time", "handle_due"),
    ("closing_rate", "close_done", "close_due"),
    ("on_time_closing_rate", "close_on_time", "close_due"),
    ("rework_rate", "reworked", "close_due"),
    ("return_rate", "returned", "dispatched"),
    ("checkin_on_time_rate", "checkin_on_time", "checkin_due"),
    ("satisfaction_rate", "satisfied", "rated"),
    ("followup_rate", "rated", "closed"),
)
# The name of the row without a group (facts without a department, or outside every area of the
# level) and of the total, as catalogue entries: the document and the CSV download give them in
# the caller's language (a category-less row cannot happen: "—")
NO_GROUP_TEXT = {"department": N_("not dispatched"), "area": N_("no area at this level")}
CSV_TEXT = {"code": N_("Code"), "name": N_("Name"), "total": N_("Total")}
# The same names in the CSV's stable machine-readable form (`headers=codes`), in any language
# (docs/metrics.md, "CSV")
STABLE_NAMES = {
    "department": "未派遣 not dispatched",
    "area": "无此级区域 no area at this level",
    "category": "—",
    "total": "合计 Total",
}


def no_group_name(group_by: str, tr: Translator) -> str:
    """The name of the row without a group in `tr`'s language."""
    return tr(NO_GROUP_TEXT[group_by]) if group_by in NO_GROUP_TEXT else "—"


@dataclass(frozen=True)
class Period:
    """[start, end) asked for, and `as_of` = min(end, now): no event after it is read."""

    start: dt.datetime
    end: dt.datetime
    as_of: dt.datetime
    tz: ZoneInfo

    def as_json(self) -> dict[str, Any]:
        """The period as local ISO 8601 times."""
        return {
            "from": self.start.astimezone(self.tz).isoformat(),
            "to": self.end.astimezone(self.tz).isoformat(),
            "as_of": self.as_of.astimezone(self.tz).isoformat(),
            "timezone": self.tz.key,
        }


@dataclass(frozen=True)
class Scope:
    """Whose figures a user may read: an area subtree and/or one department (None = all)."""

    area: str | None = None
    department: str | None = None


def _instant(value: str, name: str, tz: ZoneInfo, *, end: bool) -> dt.datetime:
    """A date (the whole local day; `end` → the next midnight) or a date-time (naive = local)."""
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            check_year(day)
            if end:
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time(0), tz)
        when = dt.datetime.fromisoformat(value)
        check_year(when)
    except ValueError as exc:
        raise BadRequest(
            f"{name} must be a date (2026-11-01) or an ISO 8601 date-time "
            f"(2026-11-01T08:00:00+08:00); got {value!r}.",
            {"parameter": name},
        ) from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


def parse_period(start: str | None, end: str | None, tz_name: str, now: dt.datetime) -> Period:
    """The period asked for: `to` defaults to now, `from` to 30 days before `to`."""
    tz = ZoneInfo(tz_name)
    t_end = _instant(end, "to", tz, end=True) if end else now
    t_start = (
        _instant(start, "from", tz, end=False) if start else t_end - dt.timedelta(days=DEFAULT_DAYS)
    )
    if t_start >= t_end:
        raise BadRequest("from must be earlier than to.", {"from": start, "to": end})
    if t_end - t_start > dt.timedelta(days=MAX_DAYS):
        raise BadRequest(f"A period is at most {MAX_DAYS} days long.")
    return Period(t_start, t_end, min(t_end, now), tz)


def scope_of(user: User | None) -> Scope:
    """Admins read everything, dispatchers their area, departments their own figures."""
    rules = READ["statistics"][role_of(user)]  # the one policy: api.services.identity.policy
    if "all" in rules:
        return Scope()
    if user is not None and "scope" in rules and user.area_code:
        return Scope(area=user.area_code)
    if user is not None and "department" in rules and user.department_code:
        return Scope(department=user.department_code)
    raise Forbidden(
        "Statistics are for admins, dispatchers (their area) and departments (their own figures).",
        {"role": user.role if user else None},
    )


def check_grouping(group_by: str, level: str | None) -> str | None:
    """Validate group_by + level; returns the effective level."""
    if group_by not in GROUP_BYS:
        raise BadRequest(f"group_by must be one of {', '.join(GROUP_BYS)}.")
    if group_by == "area":
        level = level or "grid"
        if level not in AREA_LEVELS:
            raise BadRequest(f"level must be one of {', '.join(AREA_LEVELS)} for group_by=area.")
        return level
    if group_by == "category":
        if level not in (None, "major", "category"):
            raise BadRequest("level must be 'major' (major class) or 'category' (sub-class).")
        return "major" if level == "major" else "category"
    if level is not None:
        raise BadRequest("level is only used with group_by=area or group_by=category.")
    return None


RATE_PARTS = {rate: (numerator, denominator) for rate, numerator, denominator in RATES}


def rate_of(raw: dict[str, Any], rate: str) -> tuple[float | None, int]:
    """One rate of a group's raw row (as `figures` gives it) and its denominator."""
    numerator, denominator = RATE_PARTS[rate]
    due = raw.get(denominator) or 0
    return (_ratio(raw.get(numerator) or 0, due) if due else None), due


def missed_checkins(raw: dict[str, Any]) -> int:
    """未按时报到数 of a group's raw row (as `figures` gives it)."""
    return (raw.get("checkin_due") or 0) - (raw.get("checkin_on_time") or 0)


@functools.lru_cache(maxsize=4096)
def _ratio(numerator: int, denominator: int) -> float:
    """numerator / denominator to RATE_DIGITS: cached, as a page of 10,000 rows has a few
    hundred different fractions (round() is a third of the time `figures` takes otherwise)."""
    return round(numerator / denominator, RATE_DIGITS)


def _hours(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 2)


ROW_KEYS = ("code", "name", *METRIC_KEYS)
_NOTHING: dict[str, Any] = {}


def figure_row(code: str | None, name: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    """A row of the document: code, name, then every metric in METRICS' order (counts are
    integers, absent or NULL: 0; a rate without its denominator: None).

    Called once per group (10,000 grids for a city): each raw count read once into a local and
    the row made by one dict display, not a list zipped into a dict (58 → 41 ms for a month
    by grid, docs/performance.md); `figure_row_reference` in the tests checks it against
    METRICS and RATES."""
    get = (_NOTHING if raw is None else raw).get
    reported, registered = get("reported") or 0, get("registered") or 0
    dispatched, handled, closed = get("dispatched") or 0, get("handled") or 0, get("closed") or 0
    rejected, returned = get("rejected") or 0, get("returned") or 0
    handle_due, handle_on_time = get("handle_due") or 0, get("handle_on_time") or 0
    close_due, close_done = get("close_due") or 0, get("close_done") or 0
    close_on_time, reworked = get("close_on_time") or 0, get("reworked") or 0
    checkin_due, checkin_on_time = get("checkin_due") or 0, get("checkin_on_time") or 0
    rated, satisfied = get("rated") or 0, get("satisfied") or 0
    return {
        "code": code,
        "name": name,
        "reported": reported,
        "registered": registered,
        "dispatched": dispatched,
        "handled": handled,
        "closed": closed,
        "rejected": rejected,
        "returned": returned,
        "open": get("open") or 0,
        "overdue": get("overdue") or 0,
        "handle_due": handle_due,
        "handle_on_time": handle_on_time,
        "close_due": close_due,
        "close_done": close_done,
        "close_on_time": close_on_time,
        "reworked": reworked,
        "checkin_due": checkin_due,
        "checkin_on_time": checkin_on_time,
        "checkin_missed": checkin_due - checkin_on_time,
        "urges": get("urges") or 0,
        "urged": get("urged") or 0,
        "closed_urged": get("closed_urged") or 0,
        "rated": rated,
        "satisfied": satisfied,
        # RATES, in their order
        "on_time_handling_rate": _ratio(handle_on_time, handle_due) if handle_due else None,
        "closing_rate": _ratio(close_done, close_due) if close_due else None,
        "on_time_closing_rate": _ratio(close_on_time, close_due) if close_due else None,
        "rework_rate": _ratio(reworked, close_due) if close_due else None,
        "return_rate": _ratio(returned, dispatched) if dispatched else None,
        "checkin_on_time_rate": _ratio(checkin_on_time, checkin_due) if checkin_due else None,
        "satisfaction_rate": _ratio(satisfied, rated) if rated else None,
        "followup_rate": _ratio(rated, closed) if closed else None,
        "handling_n": get("handling_n") or 0,
        "avg_handling_hours": _hours(get("handling_avg_s")),
        "p90_handling_hours": _hours(get("handling_p90_s")),
    }


assert tuple(figure_row(None, "", None)) == ROW_KEYS  # every metric, in METRICS' order


def figures(raw: dict[str, Any] | None) -> dict[str, Any]:
    """Counts, rates and handling times of one group from its raw aggregate row (counts are
    integers; absent or NULL: 0)."""
    row = figure_row(None, "", raw)
    del row["code"], row["name"]
    return row


def group_rows(
    conn: Connection[Any], over: Over, spare: Spare | None = None
) -> list[dict[str, Any]]:
    """The raw rows of every group with something to count, and the total (`total` true);
    `spare`: `rollup_read.rollup_rows`'."""
    raw = stats_rows(conn, over, spare=spare)
    # 督办 and 回访 come from separate queries (api/services/evaluation/urge.py, followup.py)
    for add_counts in (add_urge_counts, add_followup_counts):
        raw = add_counts(conn, raw, over)
    return raw


def compute_stats(
    conn: Connection[Any],
    user: User | None,
    period: Period,
    group_by: str,
    level: str | None,
    *,
    scope: Scope | None = None,
    spare: Spare | None = None,
    tr: Translator = CHINESE,
) -> dict[str, Any]:
    """The statistics document: one row per group, plus the total over the caller's scope;
    `spare`: a second connection's source for the handling times (`rollup_read.rollup_rows`);
    the metrics' labels and the names of the total and of the row without a group in `tr`'s
    language."""
    level = check_grouping(group_by, level)
    scope = scope if scope is not None else scope_of(user)
    # the period, grouping and scope every query of the document counts over
    over = Over(period.start, period.as_of, group_by, level, scope.area, scope.department)
    raw = group_rows(conn, over, spare)
    total = next((r for r in raw if r["total"]), None)
    by_key = {r["key"]: r for r in raw if not r["total"]}
    codes = [k for k in by_key if k is not None]
    names: dict[str, str] = {}
    if group_by == "area" and scope.department is None:
        assert level is not None
        names = areas_in_scope(conn, level, scope.area)  # every area of the level, named
        codes += [c for c in names if c not in by_key]
    unnamed = [c for c in codes if c not in names]
    if unnamed:
        names |= group_names(conn, group_by, unnamed)
    rows = [figure_row(code, names.get(code, code), by_key.get(code)) for code in sorted(codes)]
    if None in by_key:
        rows.append(figure_row(None, no_group_name(group_by, tr), by_key[None]))
    return {
        "period": period.as_json(),
        "group_by": group_by,
        "level": level,
        "scope": {"area": scope.area, "department": scope.department},
        "rows": rows,
        "total": figure_row(None, tr(CSV_TEXT["total"]), total),
        "metrics": [
            {"key": m.key, "label": tr(m.en), "kind": m.kind, "good": m.good} for m in METRICS
        ],
        "definitions": "docs/metrics.md",
    }


def _text_cell(value: str | None) -> str:
    """A name or code as a CSV cell that Excel will not run as a formula (CSV injection)."""
    if value is None:
        return ""
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def _metric_words() -> dict[str, str]:
    """Each column's English catalogue id, by key (METRICS and the patrol columns)."""
    from api.services.patrols.figures import PATROL_METRICS  # the patrol columns, added late

    return {m.key: m.en for m in METRICS} | {p[0]: p[2] for p in PATROL_METRICS}


def stats_csv(doc: dict[str, Any], tr: Translator = CHINESE, *, codes: bool = False) -> str:
    """The rows and total as CSV text, UTF-8 BOM first so Excel reads the Chinese correctly.

    The header row is in `tr`'s language ("上报数" / "reported"), as are the total's name and
    the row without a group; `codes` gives the stable machine-readable form instead: the header
    is `code,name,<metric keys>` and every cell is as in the JSON (docs/metrics.md).
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    metrics = doc["metrics"]  # METRICS, and columns other modules add (patrol coverage)
    if codes:
        header = ["code", "name", *(m["key"] for m in metrics)]
    else:
        words = _metric_words()
        header = [tr(CSV_TEXT["code"]), tr(CSV_TEXT["name"])]
        header += [tr(words[m["key"]]) if m["key"] in words else m["label"] for m in metrics]
    writer.writerow(header)
    for row in [*doc["rows"], doc["total"]]:
        name = row["name"]
        if row is doc["total"]:
            name = STABLE_NAMES["total"] if codes else tr(CSV_TEXT["total"])
        elif row["code"] is None:
            group_by = doc["group_by"]
            name = STABLE_NAMES[group_by] if codes else no_group_name(group_by, tr)
        writer.writerow(
            [_text_cell(row["code"]), _text_cell(name)]
            + ["" if row.get(m["key"]) is None else row[m["key"]] for m in metrics]
        )
    return "\ufeff" + buf.getvalue()
