"""Request bodies of the closed loop: workflow actions, whistles (吹哨) and check-ins (报到)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.areas import shallow

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]

ActionName = Literal[
    "register",
    "reject",
    "dispatch",
    "accept",
    "return",
    "handle",
    "verify",
    "self_handle",
    "request_extension",
    "approve_extension",
    "suspend",
    "reopen",
    "escalate",
    "acknowledge",
    "add_info",
    "urge",
]


class ActionIn(BaseModel):
    """One workflow action on an incident; `data` keys depend on the action (see README)."""

    model_config = ConfigDict(extra="forbid")

    action: ActionName
    department: Code | None = Field(
        default=None,
        description="dispatch: the (lead) department, default the routed one; "
        "acknowledge by an admin: the supporting department acknowledging",
    )
    note: Note | None = Field(default=None, description="a written note or reason")
    data: Annotated[dict[str, Any], AfterValidator(shallow)] = Field(default_factory=dict)


class WhistleIn(BaseModel):
    """吹哨: summon departments to an incident; each must report in within the deadline."""

    model_config = ConfigDict(extra="forbid")

    departments: list[Code] = Field(min_length=1, max_length=30)
    deadline_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    note: Note | None = None


class CheckInIn(BaseModel):
    """报到: a summoned department reports in (an admin names the department)."""

    model_config = ConfigDict(extra="forbid")

    department: Code | None = None


class WithdrawIn(BaseModel):
    """撤哨: a dispatcher withdraws a whistle, optionally saying why."""

    model_config = ConfigDict(extra="forbid")

    note: Note | None = None
