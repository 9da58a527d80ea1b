"""The header every page shares: product name, who is signed in, the pages their role may use."""

from __future__ import annotations

from dataclasses import dataclass

from web_map.i18n import N_, Translator
from web_map.templating import render

ANONYMOUS = "anonymous"

# (path, label, roles that may use it); the order is the menu's order.
MENU: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("/report", N_("Report"), frozenset({"admin", "officer", "resident", ANONYMOUS})),
    (
        "/map/dispatch",
        N_("Dispatch console"),
        frozenset({"admin", "dispatcher", "officer", "department"}),
    ),
    ("/patrol", N_("Patrol"), frozenset({"officer", "department"})),  # 大联勤 joint patrols
    ("/map/edit", N_("Boundary editor"), frozenset({"admin", "officer"})),
    ("/map/stats", N_("Evaluation"), frozenset({"admin", "dispatcher", "department"})),
    ("/docs", N_("API docs"), frozenset({"admin"})),
)

# Where a role lands after signing in (and from "/" once signed in).
HOME: dict[str, str] = {
    "admin": "/map/dispatch",
    "dispatcher": "/map/dispatch",
    "officer": "/map/dispatch",
    "department": "/map/dispatch",
    "resident": "/report",
}

ROLE_LABELS: dict[str, str] = {
    "admin": N_("Administrator"),
    "dispatcher": N_("Dispatcher"),
    "officer": N_("Grid officer"),
    "department": N_("Department staff"),
    "resident": N_("Resident"),
}


@dataclass(frozen=True)
class ShellUser:
    """Who the header names: the signed-in user's name and role."""

    name: str
    role: str


def home_of(role: str) -> str:
    """The page a role starts on."""
    return HOME.get(role, "/")


def menu_for(role: str, here: str) -> list[dict[str, object]]:
    """The pages `role` may use, the current one marked."""
    return [
        {"path": path, "label": label, "current": here == path}
        for path, label, roles in MENU
        if role in roles
    ]


def shell_markup(
    tr: Translator, user: ShellUser | None, here: str, *, show_sign_in: bool = True
) -> str:
    """The header's markup for `user` (None: anonymous) on the page at path `here`."""
    role = user.role if user else ANONYMOUS
    return render(
        "shell.html",
        tr,
        user=user,
        role_label=ROLE_LABELS.get(role, role),
        menu=menu_for(role, here),
        here=here,
        show_sign_in=show_sign_in,
    )
