"""Languages of the web interface: Babel message catalogues (``web/locale/<lang>/LC_MESSAGES/
messages.po``, kept in the repository and compiled in memory at start-up, so a fresh clone
needs no build step), the choice of language, and localised numbers and dates.

The language is the signed-in user's setting, else the one chosen with the switcher in
this session, else the best match of the browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

__all__ = ["LANGUAGES", "LOCALE_DIR", "N_", "Translator", "negotiate", "translator"]

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"

# code -> the language's own name, shown in the switcher.
LANGUAGES: Mapping[str, str] = {"ar": "العربية", "en": "English", "fr": "Français"}
RTL = frozenset({"ar"})
DEFAULT = "en"


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return message


@functools.cache
def _translations(lang: str) -> Translations:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


@dataclass(frozen=True)
class Translator:
    """Everything a page needs to speak one language."""

    lang: str
    translations: Translations

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.lang)

    @property
    def dir(self) -> str:
        return "rtl" if self.lang in RTL else "ltr"

    def gettext(self, message: str, **values: Any) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = self.translations.ngettext(singular, plural, n)
        return text % {"num": self.number(n), **values}

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.lang)

    def datetime(self, us: int | None, fmt: str = "medium") -> str:
        if us is None:
            return ""
        return format_datetime(datetime.fromtimestamp(us / 1_000_000, tz=UTC), fmt, tzinfo=UTC, locale=self.lang)

    def duration(self, seconds: float) -> str:
        """A length of time in words of the language ("5 minutes"), rounded to its largest unit."""
        return format_timedelta(timedelta(seconds=seconds), locale=self.lang)

    def date(self, us: int, fmt: str = "medium") -> str:
        return format_date(datetime.fromtimestamp(us / 1_000_000, tz=UTC).date(), fmt, locale=self.lang)

    def stix_time(self, text: str | None) -> str:
        """A STIX timestamp (``2024-01-02T03:04:05.000Z``) in this language."""
        if not text:
            return ""
        try:
            dt = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            return text
        return format_datetime(dt, "medium", tzinfo=UTC, locale=self.lang)


def translator(lang: str) -> Translator:
    lang = lang if lang in LANGUAGES else DEFAULT
    return Translator(lang, _translations(lang))


def _accept_language(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag:
            ranked.append((-quality, index, tag.strip().lower()))
    return [tag for q, _, tag in sorted(ranked) if q < 0]


def negotiate(user_setting: str | None, session_choice: str | None, accept_language: str | None) -> str:
    for choice in (user_setting, session_choice):
        if choice is not None and choice in LANGUAGES:
            return choice
    for tag in _accept_language(accept_language or ""):
        base = tag.split("-", 1)[0]
        if base in LANGUAGES:
            return base
    return DEFAULT
