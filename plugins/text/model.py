"""The Chinese sentiment model: its features and its scoring, without scikit-learn.

The model is a logistic regression without intercept over binary features of a text (its
jieba words, word bigrams, characters and character bigrams), each present feature weighted
``1/sqrt(n)`` for a text with ``n`` features. ``scripts/build_text_model.py`` trains it with
scikit-learn and writes the weights that matter into ``sentiment_zh.json.gz``; scoring a
text here is a dictionary look-up per feature, a sum and a squash into [-1, 1].
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

MODEL_FILE = "sentiment_zh.json.gz"
FORMAT = 1
"""Bumped when the features or the file's layout change: an older file is refused."""


def normalize(text: str) -> str:
    """The form every analysis reads: NFKC (full-width letters and digits made plain), lower
    case, typographic apostrophes made plain (don’t → don't)."""
    return unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")


def sentiment_features(text: str, words: Iterable[str]) -> set[str]:
    """The features of ``text`` (already normalized) segmented into ``words``.

    ``w:`` a word, ``b:`` two neighbouring words, ``c:`` a character or two neighbouring
    characters (whitespace left out): the characters catch what segmentation misses, such
    as a negation glued to its word (不好, 不错).
    """
    tokens = [word for word in words if not word.isspace()]
    features = {"w:" + word for word in tokens}
    features.update(f"b:{left}|{right}" for left, right in itertools.pairwise(tokens))
    chars = "".join(text.split())
    features.update("c:" + char for char in chars)
    features.update("c:" + chars[i : i + 2] for i in range(len(chars) - 1))
    return features


@dataclass(frozen=True, slots=True)
class SentimentModel:
    """Weights of the features that matter. The regression has no intercept: a text with no
    feature the model knows is neutral."""

    weights: Mapping[str, float]

    def logit(self, features: set[str]) -> float:
        """The model's log-odds that the text is positive."""
        if not features:
            return 0.0
        get = self.weights.get
        return sum(get(feature, 0.0) for feature in features) / math.sqrt(len(features))

    def score(self, features: set[str], *, margin: float = 0.0) -> float:
        """Sentiment in [-1, 1]: ``2 p - 1`` for the model's probability ``p`` of positive,
        after the log-odds lose ``margin`` towards 0 (a text the model is unsure about reads
        as neutral)."""
        logit = self.logit(features)
        logit = math.copysign(max(0.0, abs(logit) - margin), logit)
        return math.tanh(logit / 2)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SentimentModel:
        """Read the model from the decoded JSON of its file."""
        if data.get("format") != FORMAT:
            raise ValueError(
                f"{MODEL_FILE} has format {data.get('format')!r}, this code reads {FORMAT}: "
                "rebuild it with scripts/build_text_model.py"
            )
        return cls(weights={str(k): float(v) for k, v in data["weights"].items()})


@cache
def load_model() -> SentimentModel:
    """The shipped model (read once)."""
    blob = resources.files("socialcrm.plugins.text").joinpath(MODEL_FILE).read_bytes()
    return SentimentModel.from_json(json.loads(gzip.decompress(blob)))
