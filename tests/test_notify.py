"""Notification outbox: rows commit with their event, delivery survives receivers being down."""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from psycopg.rows import dict_row

from api.services.notifications import worker
from api.services.notifications.admin import add_subscriber
from api.services.notifications.channels import verify
from api.services.notifications.worker import CLAIM_SQL, deliver
from api.services.workflow.events import append_event
from tests.conftest import runs_on_after_a_fault
from tests.loop import act, advance_to, ok
from tests.notify_util import (  # noqa: F401  (fixtures)
    T0,
    SmtpServer,
    WebhookReceiver,
    client_fixture,
    free_port,
    settings_fixture,
)

SECRET = "s3cret-key-of-the-water-office"


def subscribe(db, scope, code, *, email=None, webhook=None):
    sub = add_subscriber(
        db,
        name=f"{scope} {code}",
        scope=scope,
        code=code,
        channel="email" if email else "webhook",
        address=email or webhook,
        secret=SECRET if webhook else None,
    )
    db.commit()
    return sub


def report_with(client, reporter):
    body = {
        "category": "SJ0102",
        "description": "路边暴露垃圾",
        "location": {"lon": 116.010, "lat": 39.020},
        "reporter": reporter,
    }
    r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def rows(db, incident=None):
    db.commit()  # a fresh snapshot
    return db.execute(
        "SELECT n.*, n.delivery_id::text AS did, e.action AS event_action FROM notifications n "
        "LEFT JOIN incident_events e ON e.id = n.event_id "
        "LEFT JOIN incidents i ON i.id = n.incident_id "
        "WHERE %(inc)s::text IS NULL OR i.public_id = %(inc)s ORDER BY n.id",
        {"inc": incident},
    ).fetchall()


def test_outbox_rows_commit_with_their_event_and_not_without_it(client, cast, db):
    subscribe(db, "department", "CITYMGMT-001", email="cm@gov.example")
    subscribe(db, "department", "WATER", webhook="http://127.0.0.1:9/hook")
    inc = report_with(client, {"email": "a@example.cn", "notify": True})
    ok(client, inc, cast.disp, "register")
    assert [(r["rule"], r["event_action"]) for r in rows(db, inc)] == [("reporter", "register")]
    # A refused dispatch (unknown supporting department) writes neither event nor notification.
    r = act(client, inc, cast.disp, "dispatch", data={"supporting": ["WATER", "NOPE"]})
    assert r.status_code == 422
    assert len(rows(db, inc)) == 1
    ok(client, inc, cast.disp, "dispatch", data={"supporting": ["WATER"]})
    got = rows(db, inc)
    assert sorted((r["rule"], r["channel"], r["address"]) for r in got[1:]) == [
        ("department", "email", "cm@gov.example"),
        ("department", "webhook", "http://127.0.0.1:9/hook"),
        ("reporter", "email", "a@example.cn"),
    ]
    event_ids = {r["event_id"] for r in got[1:]}
    assert len(event_ids) == 1
    event = db.execute(
        "SELECT action FROM incident_events WHERE id = %s", (event_ids.pop(),)
    ).fetchone()
    assert event["action"] == "dispatch"
    # An event rolled back takes its outbox rows with it.
    events_before = db.execute("SELECT count(*) AS n FROM incident_events").fetchone()["n"]
    with pytest.raises(RuntimeError):
        with db.transaction():
            i = db.execute("SELECT id FROM incidents WHERE public_id = %s", (inc,)).fetchone()
            append_event(
                db,
                incident_id=i["id"],
                public_id=inc,
                at=T0,
                actor="cm",
                action="accept",
                from_status="dispatched",
                to_status="in_progress",
                department="CITYMGMT-001",
            )
            assert len(rows_in_tx(db, inc)) == 5  # the reporter is told of the acceptance
            raise RuntimeError("the action failed after writing")
    assert db.execute("SELECT count(*) AS n FROM incident_events").fetchone()["n"] == events_before
    assert len(rows(db, inc)) == 4


def rows_in_tx(db, incident):
    return db.execute(
        "SELECT n.id FROM notifications n JOIN incidents i ON i.id = n.incident_id "
        "WHERE i.public_id = %s",
        (incident,),
    ).fetchall()


def worker_conn(url):
    return psycopg.connect(url, row_factory=dict_row, autocommit=True)


def test_email_survives_the_smtp_server_down_then_up(client, cast, db, settings, world_db):
    inc = report_with(client, {"email": "resident@example.cn", "notify": True})
    ok(client, inc, cast.disp, "register")
    smtp = SmtpServer(int(settings.notify.smtp_url.rsplit(":", 1)[1]))
    with worker_conn(world_db) as wc:
        assert deliver(wc, settings.notify, T0) == {"sent": 0, "failed": 1, "dead": 0}
        (row,) = rows(db, inc)
        assert (row["state"], row["attempts"]) == ("pending", 1)
        assert row["next_attempt_at"] == T0 + dt.timedelta(seconds=30)
        assert "SMTP" in row["last_error"]
        # Back-off: nothing is tried before the next attempt is due, then twice as long.
        assert deliver(wc, settings.notify, T0 + dt.timedelta(seconds=29))["failed"] == 0
        deliver(wc, settings.notify, T0 + dt.timedelta(seconds=30))
        (row,) = rows(db, inc)
        assert row["attempts"] == 2
        assert row["next_attempt_at"] == T0 + dt.timedelta(seconds=90)
        smtp.start()
        try:
            later = T0 + dt.timedelta(seconds=90)
            assert deliver(wc, settings.notify, later)["sent"] == 1
            assert deliver(wc, settings.notify, later + dt.timedelta(hours=1))["sent"] == 0
        finally:
            smtp.stop()
    (row,) = rows(db, inc)
    assert (row["state"], row["attempts"], row["last_error"]) == ("sent", 3, None)
    assert len(smtp.inbox.messages) == 1
    msg = smtp.inbox.messages[0]
    assert msg["To"] == "resident@example.cn"
    assert msg["Message-ID"] == f"<{row['did']}@gridgov>"
    assert inc in str(msg["Subject"]) or inc in msg.get_payload(decode=True).decode()
    text = msg.get_payload(decode=True).decode()
    assert "您反映的问题已受理" in text
    assert f"https://gov.example/report/{inc}" in text


def test_webhook_survives_the_receiver_down_then_up_and_is_signed(
    client, cast, db, settings, world_db
):
    port = free_port()
    hook = WebhookReceiver(port, status=503)
    subscribe(db, "department", "CITYMGMT-001", webhook=hook.url)
    inc = report_with(client, {})
    advance_to(client, cast, inc, "dispatched")
    with worker_conn(world_db) as wc:
        assert deliver(wc, settings.notify, T0)["failed"] == 1  # nobody listening
        hook.start()
        try:
            t1 = T0 + dt.timedelta(seconds=30)
            assert deliver(wc, settings.notify, t1)["failed"] == 1  # 503: receiver unwell
            hook.status = 204
            t2 = t1 + dt.timedelta(seconds=60)
            assert deliver(wc, settings.notify, t2)["sent"] == 1
            assert deliver(wc, settings.notify, t2 + dt.timedelta(days=1))["sent"] == 0
        finally:
            hook.stop()
    assert len(hook.received) == 2  # the 503 answer and the accepted one: same delivery id
    (headers, body), (headers2, body2) = hook.received
    (row,) = rows(db, inc)
    assert row["state"] == "sent" and row["attempts"] == 3
    for h, b in hook.received:
        assert h["x-gridgov-delivery"] == row["did"]
        assert verify(SECRET, h["x-gridgov-timestamp"], b, h["x-gridgov-signature"])
        assert not verify(
            "another-secret-entirely", h["x-gridgov-timestamp"], b, h["x-gridgov-signature"]
        )
        assert not verify(SECRET, h["x-gridgov-timestamp"], b + b" ", h["x-gridgov-signature"])
    doc = json.loads(body2)
    assert doc["delivery_id"] == row["did"]
    assert (doc["rule"], doc["action"], doc["incident"]) == ("department", "dispatch", inc)
    assert doc["data"]["lead"] == "CITYMGMT-001"
    assert "新派遣案件" in doc["text"]


def test_a_row_claimed_by_one_worker_is_skipped_by_another(client, cast, db, settings, world_db):
    inc = report_with(client, {"email": "resident@example.cn", "notify": True})
    ok(client, inc, cast.disp, "register")
    smtp = SmtpServer(int(settings.notify.smtp_url.rsplit(":", 1)[1]))
    smtp.start()
    try:
        with worker_conn(world_db) as a, worker_conn(world_db) as b:
            with a.transaction():
                claimed = a.execute(CLAIM_SQL, {"now": T0, "limit": 10}).fetchall()
                assert len(claimed) == 1
                assert deliver(b, settings.notify, T0) == {"sent": 0, "failed": 0, "dead": 0}
            assert deliver(b, settings.notify, T0)["sent"] == 1
    finally:
        smtp.stop()
    assert len(smtp.inbox.messages) == 1


def test_gives_up_after_max_attempts(client, cast, db, settings, world_db):
    settings.notify.notify_max_attempts = 2
    inc = report_with(client, {"email": "resident@example.cn", "notify": True})
    ok(client, inc, cast.disp, "register")
    with worker_conn(world_db) as wc:
        deliver(wc, settings.notify, T0)
        assert deliver(wc, settings.notify, T0 + dt.timedelta(hours=1))["dead"] == 1
        assert deliver(wc, settings.notify, T0 + dt.timedelta(days=9)) == {
            "sent": 0,
            "failed": 0,
            "dead": 0,
        }
    (row,) = rows(db, inc)
    assert (row["state"], row["attempts"]) == ("dead", 2)


def test_notifications_list_is_for_admins(client, cast, db):
    inc = report_with(client, {"email": "resident@example.cn", "notify": True})
    ok(client, inc, cast.disp, "register")
    r = client.get("/api/v1/notifications", headers=cast.admin, params={"incident": inc})
    assert r.status_code == 200, r.text
    (n,) = r.json()["notifications"]
    assert (n["rule"], n["channel"], n["state"], n["action"], n["attempts"]) == (
        "reporter",
        "email",
        "pending",
        "register",
        0,
    )
    assert client.get("/api/v1/notifications", headers=cast.disp).status_code == 403
    assert client.get("/api/v1/notifications").status_code == 401
    r = client.get("/api/v1/notifications", headers=cast.admin, params={"state": "nope"})
    assert r.status_code == 422


def test_bad_subscribers_are_refused(db):
    from api.errors import ValidationFailed

    for kwargs in (
        {"scope": "department", "code": "NOPE", "channel": "email", "address": "a@b.cn"},
        {"scope": "department", "code": "WATER", "channel": "webhook", "address": "ftp://x"},
        {"scope": "department", "code": "WATER", "channel": "webhook", "address": "http://x"},
        {"scope": "officers", "code": "999", "channel": "email", "address": "a@b.cn"},
        {"scope": "sms", "code": None, "channel": "email", "address": "a@b.cn"},
    ):
        with pytest.raises(ValidationFailed):
            add_subscriber(db, name="x", secret=None, **kwargs)
    assert db.execute("SELECT count(*) AS n FROM notify_subscribers").fetchone()["n"] == 0


def test_a_failed_round_does_not_end_the_worker(settings, monkeypatch, caplog):
    """A fault of one round that is not the database's is logged with its traceback, and the
    worker goes on with the next rounds (it used to end: no notification sent again)."""
    settings.notify.notify_poll_s = 0.05
    rounds = []
    real = worker.run_round

    def flaky(conn, *args):
        rounds.append(1)
        if len(rounds) == 1:
            raise RuntimeError("a fault of one round")
        return real(conn, *args)

    monkeypatch.setattr(worker, "run_round", flaky)
    # rounds after the fault ran, on the database
    logged = runs_on_after_a_fault(worker.NotifyWorker(settings), rounds, "gridgov.notify", caplog)
    assert "notification round failed" in logged
    assert "RuntimeError: a fault of one round" in logged
