"""Sending one notification: e-mail over SMTP, or a webhook POST signed with HMAC-SHA256.

Both carry the delivery id (e-mail Message-ID, webhook header), so a receiver that sees a
message twice (sent, then the worker died before recording it) can drop the repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from api.responses import dumps

SIGNATURE_HEADER = "X-GridGov-Signature"
TIMESTAMP_HEADER = "X-GridGov-Timestamp"
DELIVERY_HEADER = "X-GridGov-Delivery"


class DeliveryFailed(Exception):
    """The receiver did not take the message; the worker tries again later."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: sha256= HMAC of "<timestamp>.<body>" under the secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether a received webhook was signed with `secret` (constant-time compare)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def send_webhook(
    url: str, secret: str, delivery_id: str, document: dict[str, object], timeout: float
) -> None:
    """POST the JSON document; any answer but 2xx (or no answer) is a failure."""
    body = dumps(document)
    stamp = str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "GridGov-Notify/1",
            DELIVERY_HEADER: delivery_id,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(secret, stamp, body),
        },
    )
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryFailed(f"not an http(s) URL: {url}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code} from the receiver") from exc
    except (OSError, urllib.error.URLError) as exc:
        raise DeliveryFailed(f"no answer from the receiver: {exc}") from exc
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status} from the receiver")


def send_email(
    smtp_url: str,
    sender: str,
    to: str,
    delivery_id: str,
    subject: str,
    text: str,
    timeout: float,
) -> None:
    """Send a plain-text e-mail; the Message-ID is the delivery id."""
    if not smtp_url:
        raise DeliveryFailed("no SMTP server configured (GRIDGOV_SMTP_URL)")
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise DeliveryFailed("GRIDGOV_SMTP_URL must look like smtp://host:port")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{delivery_id}@gridgov>"
    message[DELIVERY_HEADER] = delivery_id
    message.set_content(text)
    starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
    try:
        if parts.scheme == "smtps":
            context = ssl.create_default_context()
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                parts.hostname, parts.port or 465, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout)
        with client:
            if starttls:
                client.starttls(context=ssl.create_default_context())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP: {exc}") from exc
