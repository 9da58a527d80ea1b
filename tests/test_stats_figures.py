"""A row of the statistics from its raw aggregate: `figure_row`, written out for speed, against a
plain reading of METRICS and RATES (docs/metrics.md) over random raw rows."""

from __future__ import annotations

import random
from typing import Any

import pytest

from api.services.evaluation.stats import METRICS, RATES, figure_row, figures

RAW_COUNTS = [m.key for m in METRICS if m.kind == "count" and m.key != "checkin_missed"]
RAW_KEYS = [*RAW_COUNTS, "handling_n", "handling_avg_s", "handling_p90_s"]


def figure_row_reference(code: str | None, name: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    """Each metric of METRICS in its order: a count read from `raw` (absent or NULL: 0), the
    missed check-ins computed, each rate of RATES to 4 digits (None without a denominator), the
    handling times in hours to 2 digits."""
    raw = raw or {}
    counts = {k: raw.get(k) or 0 for k in RAW_COUNTS}
    counts["checkin_missed"] = counts["checkin_due"] - counts["checkin_on_time"]
    rates = {r: round(counts[n] / counts[d], 4) if counts[d] else None for r, n, d in RATES}
    seconds = {"avg_handling_hours": "handling_avg_s", "p90_handling_hours": "handling_p90_s"}
    hours = {h: None if raw.get(s) is None else round(raw[s] / 3600, 2) for h, s in seconds.items()}
    every = counts | rates | hours | {"handling_n": raw.get("handling_n") or 0}
    return {"code": code, "name": name} | {m.key: every[m.key] for m in METRICS}


def _random_raw(rng: random.Random) -> dict[str, Any]:
    """A raw row as the queries give it: some counts absent (no urge, no rating), some NULL,
    small numbers (many equal fractions) and large ones."""
    raw: dict[str, Any] = {"key": "G", "total": False}
    for key in RAW_KEYS:
        roll = rng.random()
        if roll < 0.15:
            continue  # absent
        if roll < 0.25:
            raw[key] = None
        elif key.endswith("_s"):
            raw[key] = rng.uniform(0, 400_000)
        else:
            raw[key] = rng.choice((0, rng.randint(0, 12), rng.randint(0, 100_000)))
    return raw


@pytest.mark.parametrize("seed", range(5))
def test_a_row_is_every_metric_in_order_as_the_definitions_say(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(2_000):
        raw = _random_raw(rng)
        expected = figure_row_reference("110101001", "东华门网格", raw)
        row = figure_row("110101001", "东华门网格", raw)
        assert list(row.items()) == list(expected.items()), raw  # values and key order
        assert list(figures(raw).items()) == list(expected.items())[2:]


def test_a_group_with_nothing_counted_is_zeros_and_no_rates() -> None:
    row = figure_row(None, "合计", None)
    assert row == figure_row_reference(None, "合计", None)
    assert (
        row["reported"] == 0 and row["closing_rate"] is None and row["p90_handling_hours"] is None
    )
