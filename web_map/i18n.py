"""Languages of the pages and the API's messages: gettext catalogues kept with Babel.

Message ids are English (the gettext convention); `locale/zh_CN/LC_MESSAGES/gridgov.po` holds the
Chinese, and `en` needs no catalogue (an id is its own English). The same catalogue serves the
server-rendered markup (Jinja templates, `_()`), the Python label tables (`N_()` then `_()`) and
the page scripts: a page's config carries its catalogue as JSON and gridgov.js's `t()` looks
strings up in it. `qps` is a pseudo-locale for tests: every catalogued string comes out as
"［…］", so a text shown without its brackets is a text outside the catalogue. See docs/i18n.md.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.core import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "gridgov"
DEFAULT_LOCALE = "zh_CN"
LOCALES: dict[str, str] = {"zh_CN": "中文", "en": "English"}  # each named in its own language
PSEUDO = "qps"
PSEUDO_OPEN, PSEUDO_CLOSE = "［", "］"
COOKIE = "gridgov_lang"
HTML_LANG = {"zh_CN": "zh-CN", "en": "en", PSEUDO: "en"}
JS_LOCALE = {"zh_CN": "zh-CN", "en": "en", PSEUDO: "en"}  # for Intl.* in the page scripts
_BY_LANGUAGE = {"zh": "zh_CN", "en": "en"}
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

Gettext = Callable[..., str]


def N_(message: str) -> str:
    """Mark a string for the catalogue where it is defined; translate it where it is shown."""
    return message


@cache
def _catalogue(locale: str) -> dict[str, str]:
    """msgid → msgstr of a compiled catalogue (.mo); empty for English and unknown locales."""
    if locale not in LOCALES or locale == "en":
        return {}
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    # _catalog is the parsed .mo; public API offers lookups only, and pages need the whole table.
    raw: dict[object, str] = translations._catalog  # type: ignore[attr-defined]
    return {k: v for k, v in raw.items() if isinstance(k, str) and k and v}


def _pseudo(message: str) -> str:
    return f"{PSEUDO_OPEN}{message}{PSEUDO_CLOSE}"


def messages_for(locale: str) -> dict[str, str]:
    """The whole catalogue of `locale` as handed to page scripts (English: nothing to look up)."""
    if locale == PSEUDO:
        return {k: _pseudo(k) for k in _catalogue(DEFAULT_LOCALE)}
    return dict(_catalogue(locale))


@dataclass(frozen=True)
class Translator:
    """One request's language: `_("Text {n}", n=3)` translates, then fills the placeholders."""

    locale: str

    def gettext(self, message: str, **params: object) -> str:
        """The translation of `message` (itself when uncatalogued), placeholders filled."""
        if self.locale == PSEUDO:
            text = _pseudo(message) if message in _catalogue(DEFAULT_LOCALE) else message
        else:
            text = _catalogue(self.locale).get(message, message)
        return text.format(**params) if params else text

    __call__ = gettext

    def word(self, table: Mapping[str, str], code: str) -> str:
        """`code` in words (`table`: code → catalogue id) in this language; a code the table
        does not know, as it is."""
        return self(table[code]) if code in table else code

    @property
    def html_lang(self) -> str:
        """The value of <html lang>."""
        return HTML_LANG.get(self.locale, "zh-CN")

    @property
    def js_locale(self) -> str:
        """The BCP 47 tag the scripts give Intl.DateTimeFormat / NumberFormat."""
        return JS_LOCALE.get(self.locale, "zh-CN")

    def for_page(self) -> dict[str, object]:
        """What a page's config block carries for gridgov.js's t()."""
        return {
            "locale": self.locale,
            "intl": self.js_locale,
            "messages": messages_for(self.locale),
            "languages": LOCALES,
        }

    def number(self, value: float) -> str:
        """A number in the locale's format."""
        return format_decimal(value, locale=self._babel_locale())

    def datetime(self, value: object, fmt: str = "medium") -> str:
        """A date and time in the locale's format."""
        return str(format_datetime(value, format=fmt, locale=self._babel_locale()))  # type: ignore[arg-type]

    def _babel_locale(self) -> Locale:
        return Locale.parse("en" if self.locale == PSEUDO else self.locale)


CHINESE = Translator(DEFAULT_LOCALE)  # the default language, for callers that name none


def choose_locale(
    *,
    asked: str | None,
    cookie: str | None,
    accept_language: str | None,
    default: str = DEFAULT_LOCALE,
    pseudo: bool = False,
) -> str:
    """The language of a response: ?lang=, then the remembered cookie, then Accept-Language."""
    allowed: list[str] = [*LOCALES, PSEUDO] if pseudo else list(LOCALES)
    for explicit in (asked, cookie):
        if explicit in allowed:
            return explicit
    # the most wanted language we have; any Chinese (zh-TW, zh-Hans…) reads zh_CN best here
    for tag in _accept_languages(accept_language or ""):
        found = tag if tag in LOCALES else _BY_LANGUAGE.get(tag.split("_")[0].lower())
        if found:
            return found
    return default if default in LOCALES else DEFAULT_LOCALE


def _accept_languages(header: str) -> list[str]:
    """The tags of an Accept-Language header, most wanted first, as zh_CN-style ids."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, index, tag.replace("-", "_")))
    return [tag for _q, _i, tag in sorted(ranked)]


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching the English messages a `{placeholder}` template produces."""
    parts: list[str] = []
    seen: set[str] = set()
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        parts.append(re.escape(template[last : match.start()]))
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")  # a repeat: same
        seen.add(name)
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


class MessageTemplates:
    """Translates finished English messages (API errors) through templates in the catalogue."""

    def __init__(self, templates: Iterable[str]) -> None:
        # longest first: "… {problem} (and {n} more problems)." before "… {problem}."
        chosen = sorted((t for t in templates if _PLACEHOLDER.search(t)), key=len, reverse=True)
        self.templates = [(t, template_pattern(t)) for t in chosen]

    def translate(self, message: str, tr: Translator, depth: int = 0) -> str:
        """The message in `tr`'s language: exact entries first, then templates with values.

        A value that is itself a sentence ("Not saved: {problem}" holding a topology problem)
        is translated the same way, one level deep.
        """
        if tr.locale == "en":
            return message
        exact = tr.gettext(message)
        if exact != message:
            return exact
        for template, pattern in self.templates:
            match = pattern.match(message)
            if match:
                translated = tr.gettext(template)
                if translated == template:
                    return message
                values = match.groupdict()
                if depth == 0:
                    values = {k: self._value(v, tr) for k, v in values.items()}
                try:
                    return translated.format(**values)
                except (KeyError, IndexError, ValueError):
                    return message
        return message

    def _value(self, value: str, tr: Translator) -> str:
        """A placeholder's value: a catalogued sentence translated, "A or B" part by part."""
        if " " not in value:
            return value  # a code, a number, a name
        return self._alternatives(value, tr) or value

    def _alternatives(self, value: str, tr: Translator) -> str | None:
        whole = self.translate(value, tr, 1)
        if whole != value:
            return whole
        at = value.find(" or ")
        while at != -1:  # "a street or district dispatcher" holds " or " itself: try each split
            left = self._alternatives(value[:at], tr)
            right = self._alternatives(value[at + 4 :], tr) if left else None
            if left and right:
                return left + tr.gettext(" or ") + right
            at = value.find(" or ", at + 1)
        return None
