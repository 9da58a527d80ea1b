"""`gridgov notify subscribe|test` against a real SMTP server and a real webhook receiver."""

from __future__ import annotations

import json

import psycopg
from typer.testing import CliRunner

from api.cli import app
from api.services.notifications.channels import verify
from tests.notify_util import SmtpServer, WebhookReceiver, free_port

SECRET = "a-webhook-secret-of-some-length"


def test_notify_test_email_and_webhook(world_db):
    runner = CliRunner()
    smtp = SmtpServer(free_port())
    env = {"GRIDGOV_DATABASE_URL": world_db, "GRIDGOV_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}"}
    down = runner.invoke(app, ["notify", "test", "email", "--to", "ops@gov.example"], env=env)
    assert down.exit_code == 1 and "Not delivered" in down.output and "SMTP" in down.output
    smtp.start()
    try:
        r = runner.invoke(app, ["notify", "test", "email", "--to", "ops@gov.example"], env=env)
    finally:
        smtp.stop()
    assert r.exit_code == 0, r.output
    assert "sent (email)" in r.output
    (msg,) = smtp.inbox.messages
    assert msg["To"] == "ops@gov.example"
    assert "测试通知" in msg.get_payload(decode=True).decode()

    hook = WebhookReceiver(free_port())
    r = runner.invoke(
        app,
        ["notify", "subscribe", "水务值班", "--scope", "department", "--code", "WATER"]
        + ["--webhook", hook.url, "--secret", SECRET],
        env=env,
    )
    assert r.exit_code == 0, r.output
    sub = r.output.split()[1]
    bad = runner.invoke(
        app,
        [
            "notify",
            "subscribe",
            "x",
            "--scope",
            "department",
            "--code",
            "NOPE",
            "--email",
            "a@b.cn",
        ],
        env=env,
    )
    assert bad.exit_code == 1 and "no department 'NOPE'" in bad.output
    hook.start()
    try:
        r = runner.invoke(app, ["notify", "test", "webhook", "--subscriber", sub], env=env)
    finally:
        hook.stop()
    assert r.exit_code == 0, r.output
    ((headers, body),) = hook.received
    assert verify(SECRET, headers["x-gridgov-timestamp"], body, headers["x-gridgov-signature"])
    assert json.loads(body)["kind"] == "test"
    with psycopg.connect(world_db) as conn:
        states = conn.execute("SELECT rule, state FROM notifications ORDER BY id").fetchall()
    assert states == [("test", "pending"), ("test", "sent"), ("test", "sent")]
