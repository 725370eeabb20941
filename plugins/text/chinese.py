"""Chinese words with jieba: a quiet, offline tokenizer and TF-IDF keywords.

jieba ships its dictionary and IDF table; building its prefix dictionary takes about half a
second, so it happens once, on the first Chinese text. jieba logs every step of that at
DEBUG on its own stderr handler and writes a cache file beside it: here it logs warnings
only and keeps its cache in the user's cache folder (``$XDG_CACHE_HOME/socialcrm``, else
``~/.cache/socialcrm``), or the temporary folder where that cannot be made.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import warnings
from functools import cache
from pathlib import Path

from stopwordsiso import stopwords

with warnings.catch_warnings():
    # jieba 0.42 imports pkg_resources, which warns when it is imported (deprecated, and
    # about namespace packages such as socialcrm's): nothing the operator can act on.
    warnings.simplefilter("ignore")
    import jieba
    import jieba.analyse

MAX_KEYWORDS = 8
QUESTION_MARGIN = 1.5
"""Log-odds a short question or request gives up before it counts as positive or negative.

The model learned from reviews, where a question is mostly a complaint ("怎么还没发货？");
sent to a brand, most short questions are plain ones ("请问有货吗"). ``bench/analysis.py``
measures the trade (bench/README.md): about a point of balanced accuracy on short held-out
reviews for half the sentiment the model wrongly gives neutral messages."""
QUESTION_MAX_CHARS = 30
"""Longer texts are posts or reviews: a question in them does not make them neutral."""
_QUESTION = re.compile(
    r"[?？]|吗|请|怎么|如何|多少|几[点号天个岁]|哪[里儿个]|什么|是否|能否|能不能|可不可以|有没有|麻烦"
)

_lock = threading.Lock()


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "socialcrm"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return tempfile.gettempdir()
    return str(folder)


@cache
def _tokenizer() -> jieba.Tokenizer:
    with _lock:
        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.dt
        tokenizer.tmp_dir = _cache_dir()
        tokenizer.initialize()
        return tokenizer


def is_question(text: str) -> bool:
    """Whether ``text`` is a short question or request (a question mark, 吗, 请, 怎么 …)."""
    return len(text) <= QUESTION_MAX_CHARS and _QUESTION.search(text) is not None


def words(text: str) -> list[str]:
    """``text`` segmented into words (jieba's accurate mode, with its HMM for new words)."""
    return _tokenizer().lcut(text)


def _idf() -> tuple[dict[str, float], float]:
    table = jieba.analyse.default_tfidf
    return table.idf_freq, table.median_idf


@cache
def _stopwords() -> frozenset[str]:
    return frozenset(stopwords("zh")) | frozenset(stopwords("en"))


def keywords(tokens: list[str]) -> tuple[str, ...]:
    """The salient words of a segmented text, best first: TF-IDF over jieba's IDF table.

    Single characters, stopwords and numbers are left out; a word unknown to the table
    counts with the table's median IDF, as ``jieba.analyse.extract_tags`` does.
    """
    idf, median = _idf()
    skip = _stopwords()
    counts: dict[str, int] = {}
    for token in tokens:
        word = token.strip()
        if len(word) < 2 or word in skip or not any(ch.isalpha() for ch in word):
            continue
        counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts, key=lambda word: counts[word] * idf.get(word, median), reverse=True)
    return tuple(ranked[:MAX_KEYWORDS])
