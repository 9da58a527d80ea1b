"""Bodies of the reporter's endpoints: the contact lookup and the satisfaction rating."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Contact = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]


class LookupIn(BaseModel):
    """A report found by its tracking id and the phone number or e-mail its reporter gave."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    contact: Contact


class RatingIn(BaseModel):
    """满意 / 基本满意 / 不满意 with an optional comment; `contact` proves an anonymous reporter."""

    model_config = ConfigDict(extra="forbid")

    rating: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None
    contact: Contact | None = Field(
        default=None, description="the phone number or e-mail given when reporting"
    )
