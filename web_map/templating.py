"""Jinja templates of the pages' fixed markup, rendered in the request's language.

Templates live in web_map/templates/ and call `_("English text")`; Babel's Jinja extractor finds
those calls for the catalogue (`make messages`). Autoescaping is on: values are always text.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from web_map.i18n import LOCALES, Translator

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@cache
def environment() -> Environment:
    """The one Jinja environment of the pages (templates are compiled once)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template_name: str, tr: Translator, **context: Any) -> str:
    """Markup of template `template_name` in `tr`'s language."""
    template = environment().get_template(template_name)
    return template.render(_=tr.gettext, tr=tr, languages=LOCALES, **context)
