"""What a page password must be: long enough, not common, not trivially simple, not the name."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from api.errors import BadRequest

MIN_PASSWORD = 10
MIN_DISTINCT = 4  # "aaaaaaaaaa", "ababababab": too few different characters

# English catalogue ids (api/error_messages.py): the API and the command line show them in the
# caller's language.
MESSAGES = {
    "short": "A password needs at least {n} characters.",
    "common": "This password is among the most common ones and easily guessed; choose another.",
    "simple": "This password has too few different characters; choose another.",
    "name": "The password must not contain the user name.",
}


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The generated list api/data/common_passwords.txt, lower-case."""
    text = resources.files("api.data").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def check_password(password: str, user_name: str) -> None:
    """BadRequest (its reason in details) unless the password may be used."""
    if len(password) < MIN_PASSWORD:
        raise BadRequest(MESSAGES["short"].format(n=MIN_PASSWORD), {"reason": "short"})
    lowered = password.lower()
    if lowered in common_passwords():
        raise BadRequest(MESSAGES["common"], {"reason": "common"})
    if len(set(lowered)) < MIN_DISTINCT:
        raise BadRequest(MESSAGES["simple"], {"reason": "simple"})
    if len(user_name) >= 3 and user_name.lower() in lowered:
        raise BadRequest(MESSAGES["name"], {"reason": "name"})
