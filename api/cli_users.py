"""`gridgov user add|list|disable` and `gridgov token create|revoke`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from api.cli_common import console, database, fail, settings, tr
from api.cli_toolkit import CliApp
from api.services.identity.auth import ROLES, add_user, create_token, hash_token
from api.services.identity.sessions import set_password

user_app = CliApp(no_args_is_help=True, help=tr("Users and their roles and scopes."))
token_app = CliApp(no_args_is_help=True, help=tr("API tokens (shown once, stored hashed)."))


@user_app.command("add", help=tr("Create a user."))
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help=tr("one of: {roles}", roles=", ".join(ROLES)))],
    area: Annotated[str | None, typer.Option(help=tr("area code the user is scoped to"))] = None,
    department: Annotated[str | None, typer.Option(help=tr("department code"))] = None,
) -> None:
    """Create a user."""
    with database(settings()) as conn:
        user = add_user(conn, name, role, area, department)
    console.print(
        tr("user {name} ({role}) created", name=user.name, role=user.role), highlight=False
    )


@user_app.command("list", help=tr("List users."))
def user_list() -> None:
    """List users."""
    with database(settings()) as conn:
        rows = conn.execute(
            "SELECT name, role, area_code, department_code, disabled FROM users ORDER BY name"
        ).fetchall()
    table = Table(tr("Name"), tr("Role"), tr("Area"), tr("Department"), tr("Disabled"))
    for r in rows:
        table.add_row(
            r["name"],
            r["role"],
            r["area_code"] or "",
            r["department_code"] or "",
            tr("yes") if r["disabled"] else "",
        )
    console.print(table)


@user_app.command("disable", help=tr("Disable a user (their tokens stop working)."))
def user_disable(name: str) -> None:
    """Disable a user (their tokens stop working)."""
    with database(settings()) as conn:
        done = conn.execute("UPDATE users SET disabled = true WHERE name = %s", (name,)).rowcount
    if not done:
        fail(tr("No user named '{name}'.", name=name))
    console.print(tr("user {name} disabled", name=name), highlight=False)


@user_app.command(
    "password", help=tr("Set a user's password for the pages (prompted, or read from stdin).")
)
def user_password(
    name: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help=tr("read the password from standard input"))
    ] = False,
) -> None:
    """Set a user's password for the pages (prompted, or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    with database(settings()) as conn:
        set_password(conn, name, password)
    console.print(
        tr("password of {name} set; their other page sessions were ended", name=name),
        highlight=False,
    )


@token_app.command(
    "create", help=tr("Issue a token for a user; the token alone is printed on the last line.")
)
def token_create(
    name: str,
    days: Annotated[int | None, typer.Option(help=tr("expire after this many days"))] = None,
) -> None:
    """Issue a token for a user; the token alone is printed on the last line."""
    with database(settings()) as conn:
        token = create_token(conn, name, days)
    console.print(
        tr("token for {name} (store it now; it is not shown again):", name=name), highlight=False
    )
    print(token)


@token_app.command("revoke", help=tr("Revoke a token."))
def token_revoke(token: str) -> None:
    """Revoke a token."""
    with database(settings()) as conn:
        done = conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = %s AND revoked_at IS NULL",
            (hash_token(token),),
        ).rowcount
    if not done:
        fail(tr("No such active token."))
    console.print(tr("token revoked"))


def register(app: typer.Typer) -> None:
    """Attach the user and token commands."""
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
