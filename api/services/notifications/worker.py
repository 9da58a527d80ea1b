"""The delivery worker: takes due outbox rows, sends them, retries failures with back-off.

Rows are claimed with FOR UPDATE SKIP LOCKED and held while being sent, so several app nodes
(each runs a worker) never send the same row twice; a failure moves the next try out
exponentially (backoff · 2^(attempts-1), capped) until `notify_max_attempts`, then 'dead'.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import psycopg
from psycopg import Connection

from api.db.session import connect
from api.services.background import Background
from api.services.notifications.channels import DeliveryFailed, send_email, send_webhook
from api.services.notifications.rules import queue_due
from api.services.notifications.text import render
from api.settings import NotifySettings, Settings
from web_map.i18n import CHINESE, Translator

log = logging.getLogger("gridgov.notify")

CLAIM_SQL = """
SELECT n.id, n.delivery_id::text AS delivery_id, n.channel, n.address, n.payload, n.attempts,
       s.secret
FROM notifications n LEFT JOIN notify_subscribers s ON s.id = n.subscriber_id
WHERE n.state = 'pending' AND n.next_attempt_at <= %(now)s
ORDER BY n.next_attempt_at, n.id
LIMIT %(limit)s
FOR UPDATE OF n SKIP LOCKED
"""


def backoff(settings: NotifySettings, attempts: int) -> dt.timedelta:
    """The pause after the `attempts`-th failed try."""
    seconds = settings.notify_backoff_s * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.notify_backoff_max_s))


def send_one(row: dict[str, Any], settings: NotifySettings, tr: Translator = CHINESE) -> None:
    """Send one claimed row on its channel, in `tr`'s language; raises DeliveryFailed."""
    subject, text, link = render(row["payload"], settings.public_url, tr)
    if row["channel"] == "email":
        send_email(
            settings.smtp_url,
            settings.smtp_from,
            row["address"],
            row["delivery_id"],
            subject,
            text,
            settings.notify_timeout_s,
        )
    else:
        document = {
            **row["payload"],
            "delivery_id": row["delivery_id"],
            "title": subject,
            "text": text,
            "link": link,
        }
        send_webhook(
            row["address"],
            row["secret"] or "",
            row["delivery_id"],
            document,
            settings.notify_timeout_s,
        )


def deliver(
    conn: Connection[Any], settings: NotifySettings, now: dt.datetime, tr: Translator = CHINESE
) -> dict[str, int]:
    """One round: claim up to a batch of due rows, send them (words in `tr`'s language), record
    each outcome."""
    counts = {"sent": 0, "failed": 0, "dead": 0}
    with conn.transaction():
        rows = conn.execute(CLAIM_SQL, {"now": now, "limit": settings.notify_batch}).fetchall()
        for row in rows:
            try:
                send_one(row, settings, tr)
            except DeliveryFailed as exc:
                attempts = row["attempts"] + 1
                dead = attempts >= settings.notify_max_attempts
                counts["dead" if dead else "failed"] += 1
                conn.execute(
                    "UPDATE notifications SET attempts = %s, last_error = %s, state = %s, "
                    "next_attempt_at = %s WHERE id = %s",
                    (
                        attempts,
                        str(exc)[:500],
                        "dead" if dead else "pending",
                        now + backoff(settings, attempts),
                        row["id"],
                    ),
                )
                log.warning("notification %s not delivered: %s", row["delivery_id"], exc)
                continue
            counts["sent"] += 1
            conn.execute(
                "UPDATE notifications SET attempts = attempts + 1, state = 'sent', sent_at = %s, "
                "last_error = NULL WHERE id = %s",
                (now, row["id"]),
            )
    return counts


def run_round(
    conn: Connection[Any], settings: NotifySettings, now: dt.datetime, tr: Translator = CHINESE
) -> dict[str, int]:
    """Queue cases that fell due, then deliver what is due; the worker's loop body."""
    queued = queue_due(conn, now, dt.timedelta(hours=settings.notify_due_lookback_h))
    return {"queued_due": queued, **deliver(conn, settings, now, tr)}


class NotifyWorker(Background):
    """A background thread running rounds until stopped; one per app process or CLI worker."""

    thread_name = "gridgov-notify"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def run_forever(self) -> None:
        """Run rounds in this thread until interrupted (`gridgov notify worker`)."""
        self._loop()

    def _loop(self) -> None:
        conn: Connection[Any] | None = None
        pause = self.settings.notify.notify_poll_s
        tr = Translator(self.settings.i18n.locale)  # GRIDGOV_LOCALE: the recipients' language
        while not self._stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = connect(self.settings.db)
                    conn.autocommit = True  # each round's transactions are explicit
                while run_round(conn, self.settings.notify, _now(), tr)["sent"]:
                    if self._stop.is_set():
                        break
            except Exception as exc:
                # The database restarting must not end the worker, nor a fault of one round
                # (logged with its traceback; no notification would be sent again until the
                # process restarts): reconnect next round.
                if isinstance(exc, psycopg.Error):
                    log.warning("notification worker: %s", exc)
                else:
                    log.exception("notification round failed; trying again next round")
                if conn is not None:
                    conn.close()
                conn = None
            self._stop.wait(pause)
        if conn is not None:
            conn.close()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
