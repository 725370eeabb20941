"""English sentiment with VADER, taught the words of customer service.

VADER's lexicon comes from social media and general text: it does not know that a refund,
a late delivery or a cracked screen is bad news in a message to a brand, and it reads
phrases word by word ("doesn't work" has no sentiment word). Here its lexicon gets the
service words below, and each complaint phrase adds a negative valence to VADER's sum
before it is squashed into [-1, 1] again.
"""

from __future__ import annotations

import math
import re
from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from socialcrm.plugins.text.model import normalize

# VADER's scale: -4 (most negative) to 4.
SERVICE_WORDS = {
    "refund": -0.8, "refunds": -0.8, "late": -1.2, "overdue": -1.2, "slow": -1.0,
    "crashes": -1.7, "crashing": -1.7, "crashed": -1.7, "cracked": -1.8, "overcharged": -2.0,
    "overpriced": -1.5, "expired": -1.5, "leaks": -1.4, "leaking": -1.4, "filthy": -2.3,
    "nightmare": -2.4, "unresponsive": -1.8, "malfunction": -1.9, "malfunctioning": -1.9,
    "unusable": -2.0, "ripoff": -2.5, "counterfeit": -2.0, "moldy": -2.0, "mouldy": -2.0,
    "stale": -1.3, "spoiled": -1.9, "torn": -1.5, "scratched": -1.3, "dented": -1.3,
    "undelivered": -1.8, "laggy": -1.5, "glitch": -1.3, "glitchy": -1.6, "buggy": -1.6,
    "overheats": -1.5, "overheating": -1.5, "unhelpful": -1.8,
}  # fmt: skip

COMPLAINT_PHRASE_VALENCE = -1.5
_COMPLAINT_PHRASES = re.compile(
    r"\b(?:never (?:came|arrived|showed up)|(?:hasn't|has not|haven't|have not|didn't|not) "
    r"(?:arrived|received|come)|still waiting|no (?:reply|response|answer)|not responding|"
    r"on hold|hung up|(?:doesn't|does not|didn't|won't|will not|isn't|not) "
    r"(?:work|working|charge|turn on)|stopped (?:working|charging)|money back|not as described|"
    r"charged (?:twice|again)|hidden fees?|false advertising|fell apart|came apart)\b"
)
_ALPHA = 15.0
"""VADER's normalization constant: compound = x / sqrt(x² + alpha)."""


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(SERVICE_WORDS)
    return analyzer


def sentiment(text: str) -> float:
    """Sentiment of an English text in [-1, 1]."""
    compound = float(_analyzer().polarity_scores(text)["compound"])
    phrases = len(_COMPLAINT_PHRASES.findall(normalize(text)))
    if not phrases or abs(compound) >= 0.9999:
        return compound
    raw = compound * math.sqrt(_ALPHA / (1 - compound * compound))
    raw += phrases * COMPLAINT_PHRASE_VALENCE
    return raw / math.sqrt(raw * raw + _ALPHA)
