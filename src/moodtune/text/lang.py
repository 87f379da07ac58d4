"""Language detection for moodtune's two languages.

moodtune reads Russian and English. Telling those two apart does not need a
statistical language identifier: the script decides (Cyrillic letters -> ``ru``,
Latin letters -> ``en``). We wrote this small function instead of adding a library
(langdetect, lingua) because those identify ~100 languages with models of several MB,
while this choice is exact for the two scripts moodtune supports.
"""

from __future__ import annotations

#: Languages moodtune understands.
LANGUAGES: tuple[str, ...] = ("ru", "en")


def detect_language(text: str) -> str:
    """Return ``"ru"``, ``"en"`` or ``"unknown"`` (no letters of either script).

    Examples
    --------
    >>> detect_language("Мне грустно")
    'ru'
    >>> detect_language("I feel great")
    'en'
    >>> detect_language("12345 :)")
    'unknown'
    """
    cyr = lat = 0
    for ch in text:
        if not ch.isalpha():
            continue
        if "\u0400" <= ch <= "\u04ff":
            cyr += 1
        elif ch.isascii():
            lat += 1
    if cyr == 0 and lat == 0:
        return "unknown"
    return "ru" if cyr >= lat else "en"
