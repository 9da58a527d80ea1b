"""Shared helpers and fixtures of the Open311 tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg.types.json import Jsonb

BASE = "/open311/v2"
TZ = ZoneInfo("Asia/Shanghai")
G1 = "110199001001001"

COVER_EXTRAS = {
    "keywords": ["井盖", "manhole"],
    "attributes": [
        {
            "code": "COVER_STATE",
            "datatype": "singlevaluelist",
            "required": True,
            "description": "井盖是什么状态？",
            "order": 1,
            "values": [{"key": "missing", "name": "缺失"}, {"key": "broken", "name": "破损"}],
        },
        {"code": "DEPTH_M", "datatype": "number", "description": "井深约几米？", "order": 2},
        {
            "code": "HAZARDS",
            "datatype": "multivaluelist",
            "description": "周边有什么危险？",
            "values": [{"key": "traffic", "name": "车流"}, {"key": "children", "name": "儿童"}],
        },
    ],
}

COVER_DEFINITION = {
    "service_code": "BJ0101",
    "attributes": [
        {
            "variable": True,
            "code": "COVER_STATE",
            "datatype": "singlevaluelist",
            "required": True,
            "datatype_description": None,
            "order": 1,
            "description": "井盖是什么状态？",
            "values": [{"key": "missing", "name": "缺失"}, {"key": "broken", "name": "破损"}],
        },
        {
            "variable": True,
            "code": "DEPTH_M",
            "datatype": "number",
            "required": False,
            "datatype_description": None,
            "order": 2,
            "description": "井深约几米？",
            "values": [],
        },
        {
            "variable": True,
            "code": "HAZARDS",
            "datatype": "multivaluelist",
            "required": False,
            "datatype_description": None,
            "order": 3,
            "description": "周边有什么危险？",
            "values": [{"key": "traffic", "name": "车流"}, {"key": "children", "name": "儿童"}],
        },
    ],
}


@pytest.fixture
def api_key(world_db):
    """A GridGov token of a resident account used by a city app."""
    from api.services.identity.auth import add_user, create_token

    with psycopg.connect(world_db) as conn:
        add_user(conn, "cityapp", "resident", None, None)
        return create_token(conn, "cityapp")


@pytest.fixture
def covers(db):
    """BJ0101 上水井盖 asks three questions (COVER_STATE required)."""
    db.execute(
        "UPDATE categories SET attributes = %s WHERE code = 'BJ0101'", (Jsonb(COVER_EXTRAS),)
    )
    db.commit()


def form(key, **fields):  # type: ignore[no-untyped-def]
    """A minimal valid SJ0102 report at a point of grid G1, with overrides (None drops one)."""
    base = {"api_key": key, "service_code": "SJ0102", "lat": "39.02", "long": "116.01"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def cover_form(api_key, **fields):  # type: ignore[no-untyped-def]
    data = [
        ("api_key", api_key),
        ("service_code", "BJ0101"),
        ("lat", "39.02"),
        ("long", "116.01"),
        ("description", "井盖丢了"),
        ("attribute[COVER_STATE]", "missing"),
        ("attribute[DEPTH_M]", "1.5"),
        ("attribute[HAZARDS][]", "traffic"),
        ("attribute[HAZARDS][]", "children"),
        ("first_name", "三"),
        ("last_name", "张"),
        ("phone", "13800000000"),
        ("email", "zhang@example.cn"),
    ]
    drop = {k for k, v in fields.items() if v is None}
    data = [(k, v) for k, v in data if k not in drop]
    data += [(k, v) for k, v in fields.items() if v is not None]
    return data


def post(client, data, fmt="json", headers=None):  # type: ignore[no-untyped-def]
    from urllib.parse import urlencode

    return client.post(
        f"{BASE}/requests.{fmt}",
        content=urlencode(data),
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )


def count(db, table="incidents"):  # type: ignore[no-untyped-def]
    return db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]  # noqa: S608


def w3(value):  # type: ignore[no-untyped-def]
    return value.astimezone(TZ).isoformat(timespec="seconds") if value else None


def stored(db, public_id):  # type: ignore[no-untyped-def]
    return db.execute(
        "SELECT reported_at, updated_at, due_at, source, attributes, reporter, "
        "reporter_user_id, department_code FROM incidents WHERE public_id = %s",
        (public_id,),
    ).fetchone()


def xml(response):  # type: ignore[no-untyped-def]
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(response.content)


def fields(element):  # type: ignore[no-untyped-def]
    """A flat XML element as {tag: text} ('' for empty elements)."""
    return {child.tag: (child.text or "") for child in element}
