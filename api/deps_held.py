"""A pooled connection and its signed-in caller in two worker-thread hops instead of four.

`ConnDep` + `CurrentUser` + a plain `def` route cost four hops into the thread pool per request
(the connection taken, the user looked up, the route's body, the commit and return): ≈ 20 % of
the workers' Python time in a profile of a route called thousands of times a second (a patrol's
batches of fixes, docs/performance.md, 2026-12-05 night). `HeldConnDep` takes the connection and
signs the caller in within one hop; the route then does its work, commits and gives the
connection back within a second (`Held.run`). The answers are those of `ConnDep` + `CurrentUser`:
401/403 from the sign-in before the route's own parameters are checked (422), the transaction
committed before the response is sent, rolled back on any error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from psycopg import Connection

from api.deps import SESSION_COOKIE, _signed_in, optional_user
from api.services.identity.auth import User

T = TypeVar("T")


class Held:
    """The request's connection (taken from the pool, in a transaction) and its caller."""

    def __init__(self, request: Request) -> None:
        self._checkout: AbstractContextManager[Connection[Any]] = (
            request.app.state.pool.connection()
        )
        self.conn: Connection[Any] | None = None
        self.user: User | None = None

    def sign_in(self, request: Request, authorization: str | None) -> None:
        """Take a connection and look the caller up on it (in a worker thread)."""
        self.conn = self._checkout.__enter__()
        self.user = _signed_in(optional_user(request, self.conn, authorization))

    def give_back(self, exc: BaseException | None = None) -> None:
        """Commit, or roll back after `exc`, and return the connection to the pool."""
        if self.conn is None:
            return
        self.conn = None
        if exc is None:
            self._checkout.__exit__(None, None, None)
        else:
            self._checkout.__exit__(type(exc), exc, exc.__traceback__)

    def run(self, work: Callable[[Connection[Any], User], T]) -> T:
        """`work(conn, user)`, then commit and give the connection back (in a worker thread:
        `await run_in_threadpool(held.run, work)`); on an error, roll back and re-raise."""
        assert self.conn is not None and self.user is not None, "sign_in first"
        try:
            out = work(self.conn, self.user)
        except BaseException as exc:
            self.give_back(exc)
            raise
        self.give_back()
        return out


async def held_connection(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> AsyncIterator[Held]:
    """A signed-in caller's connection for one request (see the module's doc)."""
    if not authorization and not request.cookies.get(SESSION_COOKIE):
        _signed_in(None)  # 401, no connection taken
    held = Held(request)
    try:
        await run_in_threadpool(held.sign_in, request, authorization)
        yield held
    except BaseException as exc:  # the sign-in's 401/403, a 422 of the route's parameters, …
        if held.conn is not None:
            await run_in_threadpool(held.give_back, exc)
        raise
    if held.conn is not None:  # the route did not run `held.run`
        await run_in_threadpool(held.give_back)


# scope="function": given back (committed) before the response is sent, as ConnDep.
HeldConnDep = Annotated[Held, Depends(held_connection, scope="function")]
