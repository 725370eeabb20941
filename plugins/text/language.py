"""The language of a text: by its script first, then, for the scripts that many languages
share (Latin, Cyrillic, Arabic), with py3langid's model restricted to that script's
languages.

Han characters without kana are Chinese (``zh``); kana make it Japanese, hangul Korean,
and the other scripts name their main language (Thai ``th``, Greek ``el`` …). Mixed
Chinese and English counts each Han character as three letters (a Chinese character
carries about a word), so that ``这个iPhone太差了`` is Chinese. A text without letters
(emoji, digits, punctuation) is ``und``.

Short Latin-script texts say little to a character model ("ok", "nice"): an unsure guess
for a plain-ASCII text is English, the Latin-script language socialcrm's channels see most,
and ``und`` otherwise. A caller's hint decides where the script does not (kanji alone) or
the identifier is unsure, when it names a language of the text's script.
"""

from __future__ import annotations

import bisect
import copy
from functools import cache, lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

UNDETERMINED = "und"
SURE = 0.5
"""py3langid's probability above which its answer for a shared script is taken."""
HAN_WEIGHT = 3

# (first code point, script); a script runs to the next entry's first code point.
_RANGES: tuple[tuple[int, str | None], ...] = (
    (0x0000, None),
    (0x0041, "latin"),
    (0x005B, None),
    (0x0061, "latin"),
    (0x007B, None),
    (0x00C0, "latin"),
    (0x0250, None),
    (0x0370, "greek"),
    (0x0400, "cyrillic"),
    (0x0530, "armenian"),
    (0x0590, "hebrew"),
    (0x0600, "arabic"),
    (0x0700, None),
    (0x0750, "arabic"),
    (0x0780, None),
    (0x08A0, "arabic"),
    (0x0900, "devanagari"),
    (0x0980, "bengali"),
    (0x0A00, "gurmukhi"),
    (0x0A80, "gujarati"),
    (0x0B00, None),
    (0x0B80, "tamil"),
    (0x0C00, "telugu"),
    (0x0C80, "kannada"),
    (0x0D00, "malayalam"),
    (0x0D80, "sinhala"),
    (0x0E00, "thai"),
    (0x0E80, "lao"),
    (0x0F00, "tibetan"),
    (0x1000, "myanmar"),
    (0x10A0, "georgian"),
    (0x1100, "hangul"),
    (0x1200, "ethiopic"),
    (0x1380, None),
    (0x1780, "khmer"),
    (0x1800, "mongolian"),
    (0x18B0, None),
    (0x1E00, "latin"),
    (0x1F00, "greek"),
    (0x2000, None),
    (0x3040, "kana"),
    (0x3100, None),
    (0x3130, "hangul"),
    (0x3190, None),
    (0x31F0, "kana"),
    (0x3200, None),
    (0x3400, "han"),
    (0x4DC0, None),
    (0x4E00, "han"),
    (0xA000, None),
    (0xAC00, "hangul"),
    (0xD7B0, None),
    (0xF900, "han"),
    (0xFB00, None),
    (0xFB50, "arabic"),
    (0xFE00, None),
    (0xFE70, "arabic"),
    (0xFF00, None),
    (0xFF21, "latin"),
    (0xFF3B, None),
    (0xFF41, "latin"),
    (0xFF5B, None),
    (0xFF66, "kana"),
    (0xFFA0, None),
    (0x20000, "han"),
    (0x32000, None),
)
_STARTS = [start for start, _ in _RANGES]

# The language a script names when nothing finer can be told.
_SCRIPT_LANGUAGE = {
    "latin": UNDETERMINED,
    "greek": "el",
    "cyrillic": "ru",
    "armenian": "hy",
    "hebrew": "he",
    "arabic": "ar",
    "devanagari": "hi",
    "bengali": "bn",
    "gurmukhi": "pa",
    "gujarati": "gu",
    "tamil": "ta",
    "telugu": "te",
    "kannada": "kn",
    "malayalam": "ml",
    "sinhala": "si",
    "thai": "th",
    "lao": "lo",
    "tibetan": "bo",
    "myanmar": "my",
    "georgian": "ka",
    "hangul": "ko",
    "ethiopic": "am",
    "khmer": "km",
    "mongolian": "mn",
    "han": "zh",
    "kana": "ja",
}

# The languages py3langid tells apart within a shared script: the common ones only, since
# every extra language is one more way to misread a short text.
SHARED_SCRIPTS: dict[str, tuple[str, ...]] = {
    "latin": (
        "en", "fr", "de", "es", "pt", "it", "nl", "id", "ms", "vi", "tr", "pl",
        "sv", "da", "no", "fi", "cs", "ro", "hu", "tl",
    ),
    "cyrillic": ("ru", "uk", "bg", "sr", "mk", "be", "kk"),
    "arabic": ("ar", "fa", "ur"),
}  # fmt: skip


@lru_cache(maxsize=8192)
def _script(char: str) -> str | None:
    if not char.isalpha():
        return None
    return _RANGES[bisect.bisect_right(_STARTS, ord(char)) - 1][1]


@cache
def _identifiers() -> dict[str, LanguageIdentifier]:
    base = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifiers = {}
    for script, languages in SHARED_SCRIPTS.items():
        identifier = copy.copy(base)
        identifier.set_languages(languages)
        identifiers[script] = identifier
    return identifiers


def scripts(text: str) -> dict[str, int]:
    """How many letters of each script ``text`` has."""
    counts: dict[str, int] = {}
    for char in text:
        script = _script(char)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    return counts


def detect(text: str, hint: str | None = None) -> str:
    """The BCP 47 primary language tag of ``text``, or ``und``."""
    counts = scripts(text)
    if not counts:
        return UNDETERMINED
    kana = counts.pop("kana", 0)
    han = counts.pop("han", 0)
    if kana and kana * 5 >= han:
        counts["kana"] = (kana + han) * HAN_WEIGHT
    elif han:
        counts["han"] = (kana + han) * HAN_WEIGHT
    script = max(counts, key=lambda name: counts[name])
    hint = _primary(hint)
    if script not in SHARED_SCRIPTS:
        return hint if hint is not None and _fits(hint, script) else _SCRIPT_LANGUAGE[script]
    # What the text says beats what is known of the writer: a German customer in Shanghai
    # may well write in English.
    language, probability = _identifiers()[script].classify(text)
    if language == "en" or probability >= SURE:
        return str(language)
    if hint is not None and _fits(hint, script):
        return hint
    if script == "latin":
        return "en" if text.isascii() else UNDETERMINED
    return _SCRIPT_LANGUAGE[script]


def _primary(tag: str | None) -> str | None:
    if not tag:
        return None
    primary = tag.replace("_", "-").split("-")[0].strip().lower()
    return primary or None


def _fits(language: str, script: str) -> bool:
    if script in SHARED_SCRIPTS:
        return language in SHARED_SCRIPTS[script]
    if script == "han":
        # Kanji alone may be Japanese.
        return language in ("zh", "ja")
    return _SCRIPT_LANGUAGE[script] == language
