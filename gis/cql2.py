"""CQL2 filters (OGC API – Features Part 3) as SQL: parsed by pygeofilter, translated here.

Only queryables can be named, each mapped to a fixed SQL expression; every literal is a bound
parameter; the result is one `psycopg.sql.Composable` to AND into a collection's WHERE. What is
translated: Basic CQL2 (comparisons, AND/OR/NOT, IS NULL), the advanced comparison operators
(LIKE, BETWEEN, IN) and the spatial functions S_INTERSECTS, S_DISJOINT, S_WITHIN, S_CONTAINS
against a geometry or BBOX literal. Anything else is refused with a message naming it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
import shapely.geometry
from psycopg import sql
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text

from gis.ogc_crs import OgcCrs

MAX_FILTER_CHARS = 20_000
MAX_NODES = 500


class FilterError(ValueError):
    """A filter that cannot be parsed or names what cannot be filtered on."""


@dataclass(frozen=True)
class Queryable:
    """A property a filter may name: its SQL expression and JSON Schema type."""

    expr: str
    type: str  # "string", "integer", "number", "boolean", "date-time", "geometry"


@dataclass
class _Translation:
    queryables: dict[str, Queryable]
    filter_crs: OgcCrs
    params: dict[str, Any] = field(default_factory=dict)
    names: Any = field(default_factory=lambda: itertools.count())
    nodes: int = 0

    def bind(self, value: Any) -> sql.Composable:
        name = f"cql{next(self.names)}"
        self.params[name] = value
        return sql.Placeholder(name)


def parse_filter(text: str, lang: str | None) -> ast.Node:
    """Parse `filter` in `filter-lang` (cql2-text by default, or cql2-json)."""
    if len(text) > MAX_FILTER_CHARS:
        raise FilterError(f"The filter is longer than {MAX_FILTER_CHARS} characters.")
    try:
        if lang in (None, "cql2-text"):
            return parse_text(text)
        if lang == "cql2-json":
            return parse_json(json.loads(text))
    except FilterError:
        raise
    except Exception as exc:  # lark, json and pygeofilter raise many kinds; all mean "bad filter"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FilterError(f"The filter cannot be read as {lang or 'cql2-text'}: {first}") from exc
    raise FilterError(f"filter-lang '{lang}' is not offered; use cql2-text or cql2-json.")


def to_sql(
    node: ast.Node, queryables: dict[str, Queryable], filter_crs: OgcCrs
) -> tuple[sql.Composable, dict[str, Any]]:
    """The filter as a SQL condition over alias `t`, with its bound parameters."""
    t = _Translation(queryables, filter_crs)
    return _condition(node, t), t.params


def _condition(node: Any, t: _Translation) -> sql.Composable:
    t.nodes += 1
    if t.nodes > MAX_NODES:
        raise FilterError(f"The filter has more than {MAX_NODES} parts.")
    if isinstance(node, ast.Not):
        return sql.SQL("NOT ({})").format(_condition(node.sub_node, t))
    if isinstance(node, ast.And | ast.Or):
        joiner = " AND " if isinstance(node, ast.And) else " OR "
        return sql.SQL("({})").format(
            sql.SQL(joiner).join([_condition(node.lhs, t), _condition(node.rhs, t)])
        )
    if isinstance(node, ast.Comparison):
        lhs, rhs, op = node.lhs, node.rhs, COMPARISONS[type(node)]
        if isinstance(rhs, ast.Attribute) and not isinstance(lhs, ast.Attribute):
            lhs, rhs, op = rhs, lhs, MIRRORED[op]  # 5 < households is households > 5
        prop = _property(lhs, t)
        value = _literal(prop, rhs)
        return sql.SQL("{} {} {}").format(sql.SQL(prop.expr), sql.SQL(op), t.bind(value))
    if isinstance(node, ast.IsNull):
        prop = _property(node.lhs, t)
        return sql.SQL("{} IS {}NULL").format(
            sql.SQL(prop.expr), sql.SQL("NOT " if node.not_ else "")
        )
    if isinstance(node, ast.Like):
        prop = _property(node.lhs, t)
        if prop.type != "string" or not isinstance(node.pattern, str):
            raise FilterError("LIKE compares a text property with a text pattern.")
        # CQL2's wildcards are SQL's: % any run, _ one character, backslash escapes
        op = "NOT LIKE" if node.not_ else "LIKE"
        if node.nocase:
            op = "NOT ILIKE" if node.not_ else "ILIKE"
        return sql.SQL("{} {} {}").format(sql.SQL(prop.expr), sql.SQL(op), t.bind(node.pattern))
    if isinstance(node, ast.Between):
        prop = _property(node.lhs, t)
        low, high = (_literal(prop, v) for v in (node.low, node.high))
        return sql.SQL("{} {}BETWEEN {} AND {}").format(
            sql.SQL(prop.expr), sql.SQL("NOT " if node.not_ else ""), t.bind(low), t.bind(high)
        )
    if isinstance(node, ast.In):
        prop = _property(node.lhs, t)
        items = [_literal(prop, v) for v in node.sub_nodes]
        return sql.SQL("{} {}IN ({})").format(
            sql.SQL(prop.expr),
            sql.SQL("NOT " if node.not_ else ""),
            sql.SQL(", ").join(t.bind(v) for v in items),
        )
    if isinstance(node, ast.SpatialComparisonPredicate):
        return _spatial(node, t)
    raise FilterError(f"{_name(node)} is not supported in filters here.")


COMPARISONS: dict[type, str] = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
MIRRORED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
SPATIAL = {
    ast.GeometryIntersects: "ST_Intersects",
    ast.GeometryDisjoint: "ST_Disjoint",
    ast.GeometryWithin: "ST_Within",
    ast.GeometryContains: "ST_Contains",
}


def _name(node: Any) -> str:
    return type(node).__name__


def _property(node: Any, t: _Translation) -> Queryable:
    if not isinstance(node, ast.Attribute):
        raise FilterError("Each condition compares a property (a queryable) with a value.")
    prop = t.queryables.get(node.name)
    if prop is None:
        raise FilterError(
            f"'{node.name}' is not a queryable here; GET …/queryables lists them: "
            + ", ".join(sorted(t.queryables))
        )
    return prop


CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "date-time": lambda v: isinstance(v, dt.datetime | dt.date),
}


def _literal(prop: Queryable, value: Any) -> Any:
    check = CHECKS.get(prop.type)
    if check is None or not check(value):
        raise FilterError(f"A {prop.type} property cannot be compared with {value!r}.")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        raise FilterError(f"{value} is out of range.")
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time(), dt.UTC)
    return value


def _spatial(node: Any, t: _Translation) -> sql.Composable:
    prop = _property(node.lhs, t)
    if prop.type != "geometry":
        raise FilterError(f"{_name(node)} takes the geometry property first.")
    literal = _bbox_function(node.rhs)
    if isinstance(literal, values.Envelope):
        shape: sql.Composable = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
            *(t.bind(float(v)) for v in _envelope(literal, t.filter_crs)),
            sql.Literal(t.filter_crs.srid),
        )
    elif isinstance(literal, values.Geometry):
        _check_geometry(literal.geometry)
        geojson = json.dumps(literal.geometry)
        shape = sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), {})").format(
            t.bind(geojson), sql.Literal(t.filter_crs.srid)
        )
        if t.filter_crs.flip:
            shape = sql.SQL("ST_FlipCoordinates({})").format(shape)
    else:
        raise FilterError(f"{_name(node)} compares the geometry with a geometry or BBOX literal.")
    if t.filter_crs.srid != 4326:
        shape = sql.SQL("ST_Transform({}, 4326)").format(shape)
    return sql.SQL("{}({}, {})").format(sql.SQL(SPATIAL[type(node)]), sql.SQL(prop.expr), shape)


def _envelope(env: values.Envelope, crs: OgcCrs) -> tuple[float, float, float, float]:
    """BBOX(a, b, c, d) in the filter CRS's axis order → x0, y0, x1, y1."""
    if crs.flip:
        return env.y1, env.x1, env.y2, env.x2
    return env.x1, env.y1, env.x2, env.y2


def _bbox_function(node: Any) -> Any:
    """pygeofilter reads CQL2 text's BBOX(a, b, c, d) as a function call: make it an Envelope."""
    if not (isinstance(node, ast.Function) and node.name.lower() == "bbox"):
        return node
    args = node.arguments
    if len(args) == 6:  # 3D: drop the heights
        args = [args[0], args[1], args[3], args[4]]
    if len(args) != 4 or not all(isinstance(a, int | float) for a in args):
        raise FilterError("BBOX takes four numbers: lower corner, then upper corner.")
    return values.Envelope(x1=args[0], x2=args[2], y1=args[1], y2=args[3])


def _check_geometry(geojson: dict[str, Any]) -> None:
    """Refuse a geometry literal PostGIS would fail on (empty, invalid, not finite)."""
    try:
        geom = shapely.geometry.shape(geojson)
    except Exception as exc:  # shapely raises several kinds for malformed input
        raise FilterError("The geometry in the filter cannot be read.") from exc
    coords = shapely.get_coordinates(geom)
    if geom.is_empty or not geom.is_valid or not np.isfinite(coords).all():
        raise FilterError(
            "The geometry in the filter is empty or not valid (e.g. a self-intersecting "
            "polygon); send a valid one."
        )
