"""The built-in analysis of one text: language, sentiment, complaint flag and keywords."""

from __future__ import annotations

from socialcrm.plugins import TextAnalysis
from socialcrm.plugins.text import chinese, english, words
from socialcrm.plugins.text.complaint import is_complaint
from socialcrm.plugins.text.language import UNDETERMINED, detect
from socialcrm.plugins.text.model import (
    SentimentModel,
    load_model,
    normalize,
    sentiment_features,
)


def analyze(text: str, language_hint: str | None = None) -> TextAnalysis:
    """Analyze ``text``: Chinese with jieba and the shipped model, English with VADER, other
    languages get their tag, neutral sentiment and their frequent words.

    Never raises for odd input: a text without letters (emoji, digits, control characters)
    is ``und``, neutral and without keywords.
    """
    normalized = normalize(text)
    language = detect(normalized, language_hint)
    if language == "zh":
        tokens = chinese.words(normalized)
        sentiment = chinese_sentiment(normalized, tokens, load_model())
        keywords = chinese.keywords(tokens)
    elif language == "en":
        # VADER reads case and punctuation ("GREAT!!!" is more than "great").
        sentiment = english.sentiment(text)
        keywords = words.keywords(normalized, language)
    else:
        sentiment = 0.0
        # A text whose language cannot be told has no words to trust (noise, binary).
        keywords = () if language == UNDETERMINED else words.keywords(normalized, language)
    return TextAnalysis(
        language=language,
        sentiment=round(sentiment, 4),
        is_complaint=is_complaint(normalized, language, sentiment),
        keywords=keywords,
    )


def chinese_sentiment(normalized: str, tokens: list[str], model: SentimentModel) -> float:
    """Sentiment of a normalized Chinese text segmented into ``tokens``, by ``model``.

    A short question or request must convince the model by ``chinese.QUESTION_MARGIN`` more.
    """
    margin = chinese.QUESTION_MARGIN if chinese.is_question(normalized) else 0.0
    return model.score(sentiment_features(normalized, tokens), margin=margin)
