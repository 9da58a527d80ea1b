"""Two parts of one request's read at once: the second on a spare connection of the request's
pool, in a thread of its own (`ReadPool.spare`: taken only when one is free at once, nobody
waits for one and a quarter of the pool stays free after it).

Each part's statements use one core. A part run beside another reads in a transaction of its
own: at READ COMMITTED each statement sees the data of its own start either way, so splitting
a read this way promises nothing less than running its statements one after the other.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, suppress
from typing import Any, TypeVar

import psycopg
from psycopg import Connection

# `spare()`: a context giving a second connection to the request's database, or None when none
# is free at once (api.db.read_pool.ReadPool.spare)
Spare = Callable[[], AbstractContextManager[Connection[Any] | None]]

Here = TypeVar("Here")
There = TypeVar("There")


def beside(
    conn: Connection[Any],
    other: Connection[Any],
    here: Callable[[Connection[Any]], Here],
    there: Callable[[Connection[Any]], There],
) -> tuple[Here, There]:
    """`here(conn)` and, meanwhile, `there(other)` in a thread of its own, inside a transaction
    of `other`'s; when `here` fails, `there`'s statement is cancelled and the first error told."""

    def on_other() -> There:
        with other.transaction():
            return there(other)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridgov-read") as pool:
        later = pool.submit(on_other)
        try:
            first = here(conn)
        except BaseException:
            with suppress(psycopg.Error):
                other.cancel_safe()
            raise
        return first, later.result()


def at_once(
    conn: Connection[Any],
    spare: Spare | None,
    here: Callable[[Connection[Any]], Here],
    there: Callable[[Connection[Any]], There],
) -> tuple[Here, There]:
    """`beside` on a spare connection when `spare` gives one at once; otherwise `here(conn)`
    then `there(conn)`."""
    if spare is not None:
        with spare() as other:
            if other is not None:
                return beside(conn, other, here, there)
    return here(conn), there(conn)
