"""The text analysis of an interaction: the ``scrm_analyze_text`` hook, asked safely.

``analyze_text`` is what the ingest path, batch rescoring and ``scrm analyze`` call. It never
fails for the text's sake:

- no text (None, empty, whitespace) gives None: nothing to analyze;
- an enormous text is analyzed by its first ``MAX_CHARS`` characters (about a long Weibo
  post), which say what it is about and keep the ingest path fast;
- control characters, unpaired surrogates, private-use and unassigned code points and
  U+FFFD (what decoding binary leaves) are dropped; a text that is mostly such characters is
  binary, not language, and is neutral ``und`` without asking any analyzer;
- the installed analyzers answer as the hook says (the first that answers wins, the built-in
  one last); when the analyzer that answered raises, answers something that is not a
  ``TextAnalysis`` (or one whose fields cannot be read), or its coroutine answers None, the
  error is logged and the built-in analyzers answer instead;
- the answer is tidied: sentiment clamped into [-1, 1] (NaN is 0), the language reduced to
  its lower-case primary tag (``und`` when it is none), at most ``MAX_KEYWORDS`` distinct
  non-empty keywords of at most ``MAX_KEYWORD_CHARS`` characters.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import replace
from typing import Any

from socialcrm.plugins import TextAnalysis
from socialcrm.plugins.manager import PluginManager, await_me_maybe

log = logging.getLogger(__name__)

MAX_CHARS = 2000
"""Only the first 2,000 characters of a text are analyzed."""
MAX_KEYWORDS = 8
MAX_KEYWORD_CHARS = 64
BINARY_SHARE = 0.25
"""A text whose non-space characters are more than this share of control, surrogate,
private-use, unassigned or replacement characters is binary."""
NEUTRAL = TextAnalysis(language="und", sentiment=0.0)
"""What a text without language (binary) is."""

HOOK = "scrm_analyze_text"
_NOT_TEXT = frozenset({"Cc", "Cs", "Co", "Cn"})
_LANGUAGE = re.compile(r"[a-z]{2,8}")


async def analyze_text(
    plugins: PluginManager, text: str | None, *, channel: str, language_hint: str | None = None
) -> TextAnalysis | None:
    """Language, sentiment, complaint flag and keywords of an interaction's ``text``.

    None when there is no text, or when no analyzer is installed and registered.
    ``channel`` is the interaction's channel; ``language_hint`` the customer's known
    language, if any. Never raises for the text or for a failing partner analyzer.
    """
    if text is None or not text.strip():
        return None
    cleaned = _clean(text[:MAX_CHARS])
    if cleaned is None:
        return NEUTRAL
    arguments = {"text": cleaned, "channel": channel, "language_hint": language_hint}
    answer = await _ask(getattr(plugins.hook, HOOK), arguments, "a text analyzer")
    if answer is None:
        answer = await _ask(_builtin_caller(plugins), arguments, "the built-in text analyzer")
    return answer


async def _ask(caller: Any, arguments: dict[str, Any], who: str) -> TextAnalysis | None:
    """What ``caller`` answers, tidied; None (and an error logged) if it fails or answers
    something that is not a ``TextAnalysis``."""
    try:
        answer = await await_me_maybe(caller(**arguments))
        if answer is None:
            return None
        if not isinstance(answer, TextAnalysis):
            raise TypeError(f"answered {type(answer).__name__}, not a TextAnalysis")
        return _tidy(answer)
    except Exception:
        log.exception("%s failed on a %s text", who, arguments["channel"])
        return None


def _clean(text: str) -> str | None:
    """``text`` without the characters that are not text; None when it is binary."""
    kept: list[str] = []
    dropped = visible = 0
    for char in text:
        if char == "\ufffd" or (unicodedata.category(char) in _NOT_TEXT and char not in "\t\n\r"):
            dropped += 1
            continue
        kept.append(char)
        visible += not char.isspace()
    if dropped > BINARY_SHARE * (dropped + visible):
        return None
    return "".join(kept) if dropped else text


WARM_UP_TEXTS = ("欢迎光临，今天的拿铁很好喝", "Thanks, the latte was great")


def warm_up(plugins: PluginManager) -> None:
    """Load the built-in analyzer's models now (jieba's dictionary, the Chinese sentiment
    model, VADER's lexicon: about a second). The server runs it in a worker thread at
    start-up, so that the first message does not wait for them on the event loop. Partners'
    analyzers are not called."""
    caller = _builtin_caller(plugins)
    for text in WARM_UP_TEXTS:
        caller(text=text, channel="warm-up", language_hint=None)


def _builtin_caller(plugins: PluginManager) -> Any:
    """The hook without the partners' implementations: only the built-in analyzers."""
    partners = [
        plugin
        for info in plugins.plugins()
        if not info.builtin and (plugin := plugins.pm.get_plugin(info.name)) is not None
    ]
    return plugins.pm.subset_hook_caller(HOOK, remove_plugins=partners)


def _tidy(answer: TextAnalysis) -> TextAnalysis:
    sentiment = float(answer.sentiment)
    sentiment = 0.0 if math.isnan(sentiment) else min(1.0, max(-1.0, sentiment))
    primary = str(answer.language or "").replace("_", "-").split("-")[0].strip().lower()
    keywords: list[str] = []
    for keyword in answer.keywords or ():
        word = str(keyword).strip()[:MAX_KEYWORD_CHARS]
        if word and word not in keywords:
            keywords.append(word)
    return replace(
        answer,
        language=primary if _LANGUAGE.fullmatch(primary) else "und",
        sentiment=sentiment,
        is_complaint=bool(answer.is_complaint),
        keywords=tuple(keywords[:MAX_KEYWORDS]),
    )
