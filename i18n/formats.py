"""Numbers and durations in each language's own way (CLDR data through Babel)."""

from __future__ import annotations

import math
from functools import cache, lru_cache
from typing import Literal

from babel import Locale
from babel.numbers import format_decimal
from babel.units import format_unit

MINUS = "\N{MINUS SIGN}"
LARGEST_PLAIN = 1e15
UNITS = (
    (86_400, "duration-day"),
    (3_600, "duration-hour"),
    (60, "duration-minute"),
)
UnitLength = Literal["short", "long", "narrow"]
# CLDR's narrow German units mix styles (`2 T 3h 15 Min.`); its short ones read evenly, except
# its short day (`2 Tg.`), which readers stumble on: days are written out (`2 Tage`).
UNIT_LENGTH: dict[str, UnitLength] = {"de": "short"}
UNIT_LENGTH_OF: dict[tuple[str, str], UnitLength] = {("de", "duration-day"): "long"}


@cache
def babel_locale(language: str) -> Locale:
    return Locale.parse(language.replace("-", "_"))


@lru_cache(maxsize=4096)  # Babel's formatting is slow next to a vote; values repeat
def format_number(value: float, language: str) -> str:
    """`1.37` in English, `1,37` in German; counts get the language's grouping.

    Absurd sizes (a tracker's 1e308) are beyond Babel's decimal precision: shown as `1e+308`.
    """
    if not math.isfinite(value) or abs(value) >= LARGEST_PLAIN:
        return f"{value:g}"
    return format_decimal(value, locale=babel_locale(language))


@lru_cache(maxsize=4096)
def format_duration(seconds: int, language: str, sign: str = "") -> str:
    """`2d 3h 15m` style, exact to the minute, seconds only below one minute; `sign` + or -."""
    seconds = abs(int(seconds))
    base = language.split("-", 1)[0]
    length = UNIT_LENGTH.get(base, "narrow")
    locale = babel_locale(language)
    if seconds < 60:
        parts = [format_unit(seconds, "duration-second", length=length, locale=locale)]
    else:
        parts = []
        rest = seconds
        for size, unit in UNITS:
            value, rest = divmod(rest, size)
            if value:
                unit_length = UNIT_LENGTH_OF.get((base, unit), length)
                parts.append(format_unit(value, unit, length=unit_length, locale=locale))
    prefix = {"+": "+", "-": MINUS}.get(sign, "")
    return prefix + " ".join(parts)
