"""Keywords of texts written with spaces between words (English, Russian, French …)."""

from __future__ import annotations

import re
from functools import cache

from stopwordsiso import has_lang, stopwords

MAX_KEYWORDS = 8
MIN_LENGTH = 3

_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*\w)?")
NO_SPACES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo"})
"""Languages written without spaces between words: their runs of letters are not words."""


@cache
def _stopwords(language: str) -> frozenset[str]:
    return frozenset(stopwords(language)) if has_lang(language) else frozenset()


def keywords(text: str, language: str) -> tuple[str, ...]:
    """Up to eight words of ``text`` (lower case), most frequent first, then in order.

    Words of fewer than three letters and the language's stopwords are left out.
    """
    if language in NO_SPACES:
        return ()
    skip = _stopwords(language)
    counts: dict[str, int] = {}
    for word in _WORD.findall(text.lower()):
        if len(word) >= MIN_LENGTH and word not in skip:
            counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts, key=lambda word: counts[word], reverse=True)
    return tuple(ranked[:MAX_KEYWORDS])
