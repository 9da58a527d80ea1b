"""The words of the command-line toolkit itself in the catalogue.

typer marks its own words for gettext (handled by `api.cli_common.speak_the_terminals_language`),
but the click it carries inside (`typer._click`) writes "Usage:", the help option's "Show this
message and exit." and its parameter errors as plain English. `CliApp` is `typer.Typer` whose
groups and commands say those in the terminal's language: the usage line and the help option
through overridden methods, parameter errors by re-raising click's exception with the
catalogue's sentence, built from the exception's own fields (which parameter, which option) —
exit code 2 as before. A reason click words itself (a type's "Value 'x' is not a valid
integer.") is matched against the few shapes typer raises; an unknown one is kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import typer
from typer._click import Context
from typer._click.exceptions import (
    BadParameter,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer.core import TyperCommand, TyperGroup

from api.cli_common import tr
from web_map.i18n import N_

# click's kinds of parameter, as its "Missing …" names them
PARAMETER_KINDS = {
    "argument": N_("argument"),
    "option": N_("option"),
    "parameter": N_("parameter"),
}
# the value types typer names in "Value 'x' is not a valid {type}."
VALUE_TYPES = {
    "integer": N_("integer"),
    "float": N_("number"),
    "boolean": N_("boolean"),
    "int": N_("integer"),
    "bool": N_("boolean"),
    "Path": N_("path"),
    "UUID": N_("UUID"),
    "datetime": N_("date and time"),
}
# what a field of click's sentences holds: a quoted option name, a quoted or bare value
OPTION, QUOTED, ANY, WORD = r"'[^']*'", r"'.*'", r".+", r"\w+"


def _said_as(sentence: str, **fields: str) -> tuple[re.Pattern[str], str]:
    """A catalogue sentence whose English is click's own, and the pattern of that English: each
    {field} matches its regular expression in `fields`, the rest matches as written."""
    parts = re.split(r"\{(\w+)\}", sentence)  # words, field, words, field, …
    pattern = "".join(
        f"(?P<{part}>{fields[part]})" if i % 2 else re.escape(part) for i, part in enumerate(parts)
    )
    return re.compile(pattern), sentence


# reasons and usage errors click writes in English, and their catalogue sentence
ENGLISH_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    _said_as(N_("Got unexpected extra argument(s) ({args})"), args=".*"),
    _said_as(N_("Option {option} requires an argument."), option=OPTION),
    _said_as(N_("Option {option} requires {n} arguments."), option=OPTION, n=r"\d+"),
    _said_as(N_("Option {option} does not take a value."), option=OPTION),
    _said_as(N_("Value {value} is not a valid {kind}."), value=ANY, kind=WORD),
    _said_as(N_("{value} is not one of {choices}."), value=QUOTED, choices=ANY),
    # pydantic's, through typer's coercion
    _said_as(N_("Input should be greater than or equal to {n}"), n=r"\S+"),
    _said_as(N_("Input should be less than or equal to {n}"), n=r"\S+"),
    (re.compile(r"Input should be a valid integer.*"), N_("Input should be a whole number")),
    (re.compile(r"Input should be a valid number.*"), N_("Input should be a number")),
)


def say_reason(english: str) -> str:
    """A reason or usage error click wrote in English, in the terminal's language when its shape
    is known; else as written."""
    for shape, sentence in ENGLISH_SHAPES:
        found = shape.fullmatch(english.strip())
        if found:
            values = found.groupdict()
            if "kind" in values:
                kind = values["kind"]
                values["kind"] = tr(VALUE_TYPES[kind]) if kind in VALUE_TYPES else kind
            return tr(sentence, **values)
    return english


def _hint(exc: BadParameter) -> str:
    hint: Any = exc.param_hint
    if hint is None and exc.param is not None:
        hint = exc.param.get_error_hint()
    if isinstance(hint, (list, tuple)):
        return " / ".join(f"'{h}'" for h in hint)
    return str(hint or "")


def say_usage_error(exc: UsageError) -> str:
    """click's usage error in the terminal's language."""
    if isinstance(exc, MissingParameter):
        kind = exc.param_type or (exc.param.param_type_name if exc.param is not None else None)
        said = tr(PARAMETER_KINDS.get(kind or "parameter", N_("parameter")))
        missing = tr("Missing {kind} {name}.", kind=said, name=_hint(exc))
        extra = exc.param.get_missing_message(ctx=exc.ctx) if exc.param is not None else None
        if extra and extra.startswith("Choose from:"):
            choices = extra.removeprefix("Choose from:").strip()
            return missing + " " + tr("Choose from: {choices}", choices=choices)
        return missing
    if isinstance(exc, BadParameter):
        reason = say_reason(exc.message)
        hint = _hint(exc)
        if not hint:
            return tr("Invalid value: {reason}", reason=reason)
        return tr("Invalid value for {name}: {reason}", name=hint, reason=reason)
    if isinstance(exc, NoSuchOption):
        said = tr("No such option: {name}", name=exc.option_name)
        if exc.possibilities:
            options = ", ".join(sorted(exc.possibilities))
            said += " " + tr("(Possible options: {options})", options=options)
        return said
    return say_reason(exc.message)


class _CatalogueWords:
    """click's own words from the catalogue (mixed into typer's command and group)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("options_metavar", "[OPTIONS]") == "[OPTIONS]":
            kwargs["options_metavar"] = tr("[OPTIONS]")
        super().__init__(*args, **kwargs)

    def format_usage(self, ctx: Context, formatter: Any) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=tr("Usage: "))

    def get_help_option(self, ctx: Context) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = tr("Show this message and exit.")
        return option

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc]
        except UsageError as exc:
            if isinstance(exc, NoArgsIsHelpError):
                raise
            raise UsageError(say_usage_error(exc), exc.ctx or ctx) from exc


class CatalogueCommand(_CatalogueWords, TyperCommand):
    """A typer command whose toolkit words come from the catalogue."""


class CatalogueGroup(_CatalogueWords, TyperGroup):
    """A typer group whose toolkit words come from the catalogue."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("subcommand_metavar") in (None, "COMMAND [ARGS]..."):
            kwargs["subcommand_metavar"] = tr("COMMAND [ARGS]...")
        super().__init__(*args, **kwargs)


class CliApp(typer.Typer):
    """`typer.Typer` with `CatalogueGroup` and `CatalogueCommand` as its classes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=CatalogueGroup, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        kwargs.setdefault("cls", CatalogueCommand)
        return super().command(*args, **kwargs)
