"""`gridgov notify worker|test|subscribe`: the notification outbox from the terminal."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from api.cli_common import console, database, fail, settings, tr
from api.cli_toolkit import CliApp
from api.services.notifications.admin import add_subscriber, queue_test
from api.services.notifications.worker import NotifyWorker, deliver
from web_map.i18n import Translator

notify_app = CliApp(no_args_is_help=True, help=tr("Notifications: e-mail and webhooks."))


@notify_app.command(
    "worker",
    help=tr("Deliver the outbox until interrupted (as the app does; several may run at once)."),
)
def notify_worker() -> None:
    """Deliver the outbox until interrupted (as the app does; several may run at once)."""
    s = settings()
    console.print(
        tr(
            "delivering notifications every {seconds} s; Ctrl-C to stop",
            seconds=f"{s.notify.notify_poll_s:g}",
        ),
        highlight=False,
    )
    try:
        NotifyWorker(s).run_forever()
    except KeyboardInterrupt:
        console.print(tr("stopped"))


@notify_app.command(
    "test", help=tr("Send a test message now through the outbox and say whether it arrived.")
)
def notify_test(
    channel: Annotated[str, typer.Argument(help=tr("email | webhook"))],
    to: Annotated[str | None, typer.Option(help=tr("e-mail address to send to"))] = None,
    subscriber: Annotated[int | None, typer.Option(help=tr("subscriber id to send to"))] = None,
) -> None:
    """Send a test message now through the outbox and say whether it arrived."""
    s = settings()
    with database(s) as conn:
        ids = queue_test(conn, channel, to, subscriber)
    with database(s) as conn:
        conn.autocommit = True
        deliver(conn, s.notify, dt.datetime.now(dt.UTC), Translator(s.i18n.locale))
        row = conn.execute(
            "SELECT state, last_error FROM notifications WHERE delivery_id = %s", (ids[0],)
        ).fetchone()
    assert row is not None
    if row["state"] != "sent":
        fail(tr("Not delivered ({error}); the worker will retry it.", error=row["last_error"]))
    console.print(
        tr("sent ({channel}), delivery id {id}", channel=channel, id=ids[0]), highlight=False
    )


@notify_app.command(
    "subscribe", help=tr("Add a subscriber: who is told, on e-mail or a signed webhook.")
)
def notify_subscribe(
    name: Annotated[str, typer.Argument(help=tr("who this is, e.g. 城管执法队值班邮箱"))],
    scope: Annotated[str, typer.Option(help=tr("department | dispatchers | officers | sms"))],
    code: Annotated[
        str | None, typer.Option(help=tr("department code, or area code for dispatchers/officers"))
    ] = None,
    email: Annotated[str | None, typer.Option(help=tr("e-mail address"))] = None,
    webhook: Annotated[str | None, typer.Option(help=tr("webhook URL (POST JSON, signed)"))] = None,
    secret: Annotated[str | None, typer.Option(help=tr("webhook HMAC-SHA256 key"))] = None,
) -> None:
    """Add a subscriber: who is told, on e-mail or a signed webhook."""
    if (email is None) == (webhook is None):
        fail(tr("Give exactly one of --email and --webhook."))
    with database(settings()) as conn:
        sub = add_subscriber(
            conn,
            name=name,
            scope=scope,
            code=code,
            channel="email" if email else "webhook",
            address=email or webhook or "",
            secret=secret,
        )
    console.print(tr("subscriber {id} added", id=sub), highlight=False)


def register(app: typer.Typer) -> None:
    """Attach `gridgov notify` to the main app."""
    app.add_typer(notify_app, name="notify")
