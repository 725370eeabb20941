"""Accuracy and speed of socialcrm's built-in text analysis. Prints figures; asserts nothing.

    .venv/bin/python -m bench.analysis                    # held out: 衣服 (clothes), 蒙牛 (dairy)
    .venv/bin/python -m bench.analysis --holdout 水果      # hold out other categories
    .venv/bin/python -m bench.analysis --each-category    # and leave each one out in turn (slow)
    .venv/bin/python -m bench.analysis --seconds 10       # longer throughput runs

1. **Chinese, held-out categories.** Trains the sentiment model exactly as
   ``scripts/build_text_model.py`` does, on every review of the corpus except the held-out
   categories of ``online_shopping_10_cats.csv``, and measures on those categories: the
   model alone (sign of its log-odds), the analyzer (the model with the question margin,
   as it runs), both on every held-out review and on the short ones (≤ 30 characters, like
   social media), and a plain baseline (TF-IDF of jieba words, logistic regression).
2. **Hand-written short messages** (``bench/data/``, never trained on): Chinese and English
   positive, negative and neutral messages to a brand, labelled by hand, with a complaint
   flag. Measured with the shipped model; English also with plain VADER.
3. **Throughput**: the whole analysis (language, sentiment, complaint, keywords) of short
   texts in one process, in texts per CPU second of this process (one core), directly and
   through ``socialcrm.server.analysis.analyze_text`` with the plugin manager.

Balanced accuracy is the mean of the recall of positives and of negatives; a sentiment of
exactly 0 counts as wrong for both.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib.util
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
DEFAULT_HOLDOUT = ("衣服", "蒙牛")
SHORT = 30


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_text_model", ROOT / "scripts" / "build_text_model.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as an import would: its dataclasses look themselves up.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def balanced_accuracy(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """Mean recall of both classes; a score of 0 is a miss for either."""
    hits = {True: 0, False: 0}
    totals = {True: 0, False: 0}
    for score, label in zip(scores, positive, strict=True):
        totals[label] += 1
        hits[label] += (score > 0) if label else (score < 0)
    return sum(hits[c] / totals[c] for c in (True, False) if totals[c]) / 2


@dataclass
class Split:
    """Reviews to train on and held-out reviews to measure on."""

    train_texts: list[str]
    train_labels: list[bool]
    test_texts: list[str]
    test_labels: list[bool]


def split(reviews: Sequence[Any], holdout: Sequence[str]) -> Split:
    """Hold out whole categories."""
    train = [r for r in reviews if r.category not in holdout]
    test = [r for r in reviews if r.category in holdout]
    return Split(
        [r.text for r in train],
        [r.positive for r in train],
        [r.text for r in test],
        [r.positive for r in test],
    )


def heldout_figures(build: ModuleType, data: Split) -> dict[str, float]:
    """Balanced accuracies of the model and the analyzer on the held-out reviews."""
    from socialcrm.plugins.text import chinese
    from socialcrm.plugins.text.analyzer import chinese_sentiment
    from socialcrm.plugins.text.model import SentimentModel, normalize, sentiment_features

    model = SentimentModel.from_json(build.train(data.train_texts, data.train_labels))
    plain, analyzer, short = [], [], []
    for text in data.test_texts:
        normalized = normalize(text)
        tokens = chinese.words(normalized)
        plain.append(model.score(sentiment_features(normalized, tokens)))
        analyzer.append(chinese_sentiment(normalized, tokens, model))
        short.append(len(text) <= SHORT)
    labels = data.test_labels

    def only_short(values: Sequence[Any]) -> list[Any]:
        return [value for value, is_short in zip(values, short, strict=True) if is_short]

    return {
        "model": balanced_accuracy(plain, labels),
        "model_short": balanced_accuracy(only_short(plain), only_short(labels)),
        "analyzer": balanced_accuracy(analyzer, labels),
        "analyzer_short": balanced_accuracy(only_short(analyzer), only_short(labels)),
        "reviews": len(labels),
        "short": sum(short),
    }


def baseline(data: Split) -> float:
    """Plain TF-IDF over jieba words with a logistic regression, on the same split."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from socialcrm.plugins.text import chinese

    vectorizer = TfidfVectorizer(tokenizer=chinese.words, token_pattern=None, lowercase=False)
    model = LogisticRegression(max_iter=2000)
    model.fit(vectorizer.fit_transform(data.train_texts), data.train_labels)
    predicted = model.predict(vectorizer.transform(data.test_texts))
    return balanced_accuracy([1.0 if p else -1.0 for p in predicted], data.test_labels)


@dataclass
class Labelled:
    """A hand-labelled message: pos, neg or neu, and whether it complains."""

    label: str
    complaint: bool
    text: str


def read_labelled(name: str) -> list[Labelled]:
    """One of the hand-labelled files of bench/data/."""
    with (DATA / name).open(encoding="utf-8", newline="") as file:
        return [
            Labelled(row["label"], row["complaint"] == "1", row["text"])
            for row in csv.DictReader(file)
        ]


def sentiment_figures(
    rows: Sequence[Labelled], sentiment: Callable[[str], float]
) -> dict[str, float]:
    """Balanced accuracy on the polar rows; how far from 0 the neutral rows are."""
    polar = [row for row in rows if row.label != "neu"]
    neutral = [abs(sentiment(row.text)) for row in rows if row.label == "neu"]
    return {
        "balanced_accuracy": balanced_accuracy(
            [sentiment(row.text) for row in polar], [row.label == "pos" for row in polar]
        ),
        "polar": len(polar),
        "neutral": len(neutral),
        "neutral_mean_abs": sum(neutral) / len(neutral) if neutral else 0.0,
        "neutral_over_half": sum(1 for value in neutral if value > 0.5),
    }


def complaint_figures(rows: Sequence[Labelled], complaint: Callable[[str], bool]) -> str:
    """Precision and recall of the complaint flag over every row."""
    flagged = [(complaint(row.text), row.complaint) for row in rows]
    hits = sum(1 for said, truth in flagged if said and truth)
    said = sum(1 for s, _ in flagged if s)
    truth = sum(1 for _, t in flagged if t)
    return (
        f"complaint precision {hits / said if said else 0:.3f} ({hits}/{said}), "
        f"recall {hits / truth if truth else 0:.3f} ({hits}/{truth})"
    )


def throughput(analyze: Callable[[str], Any], texts: Sequence[str], seconds: float) -> float:
    """Texts analyzed per CPU second of this process, over about ``seconds``."""
    for text in texts[:200]:
        analyze(text)
    done = 0
    started_cpu = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for text in texts:
            analyze(text)
        done += len(texts)
    return done / (time.process_time() - started_cpu)


def async_throughput(texts: Sequence[str], seconds: float) -> float:
    """Texts per CPU second through ``analyze_text`` and the plugin manager."""
    from socialcrm.plugins.manager import PluginManager
    from socialcrm.server.analysis import analyze_text

    plugins = PluginManager(load_entrypoints=False)

    async def run() -> float:
        for text in texts[:200]:
            await analyze_text(plugins, text, channel="wechat")
        done = 0
        started_cpu = time.process_time()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for text in texts:
                await analyze_text(plugins, text, channel="wechat")
            done += len(texts)
        return done / (time.process_time() - started_cpu)

    return asyncio.run(run())


def main(argv: Sequence[str] | None = None) -> None:
    """Run the bench and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    build = _build_script()
    parser.add_argument("--corpus", type=Path, default=build.DEFAULT_CORPUS)
    parser.add_argument(
        "--holdout",
        action="append",
        metavar="CATEGORY",
        help=f"category held out (repeat); default {', '.join(DEFAULT_HOLDOUT)}",
    )
    parser.add_argument(
        "--each-category", action="store_true", help="also leave each category out in turn"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput run")
    args = parser.parse_args(argv)
    # scikit-learn's warnings about convergence details are not figures.
    warnings.simplefilter("ignore")

    from socialcrm.plugins.text import english
    from socialcrm.plugins.text.analyzer import analyze

    reviews = build.load_corpus(args.corpus)
    holdout = tuple(args.holdout or DEFAULT_HOLDOUT)
    unknown = set(holdout) - set(build.categories(reviews))
    if unknown:
        parser.error(f"no category {', '.join(sorted(unknown))} in {build.categories(reviews)}")

    print(f"== Chinese sentiment, held-out categories: {', '.join(holdout)}")
    data = split(reviews, holdout)
    figures = heldout_figures(build, data)
    print(
        f"trained on {len(data.train_texts)} reviews of the other categories; "
        f"measured on {figures['reviews']} held-out reviews, {figures['short']} of them "
        f"≤ {SHORT} characters"
    )
    print(f"  model alone       {figures['model']:.4f}   short {figures['model_short']:.4f}")
    print(
        f"  analyzer          {figures['analyzer']:.4f}   short {figures['analyzer_short']:.4f}"
        "   (with the question margin)"
    )
    print(f"  plain baseline    {baseline(data):.4f}   (TF-IDF of jieba words + LR)")

    if args.each_category:
        print("\n== Chinese sentiment, each category held out in turn")
        print("  category             model  short   analyzer  short")
        for category in build.categories(reviews):
            one = heldout_figures(build, split(reviews, (category,)))
            print(
                f"  {category:<18} {one['model']:.4f} {one['model_short']:.4f}    "
                f"{one['analyzer']:.4f} {one['analyzer_short']:.4f}   "
                f"({one['reviews']} reviews, {one['short']} short)"
            )

    print("\n== Hand-written short messages (bench/data/), shipped model")
    vader = english.SentimentIntensityAnalyzer()
    for name, language in (("chinese_short.csv", "zh"), ("english_short.csv", "en")):
        rows = read_labelled(name)
        ours = sentiment_figures(rows, lambda text: analyze(text).sentiment)
        print(
            f"  {language}: balanced accuracy {ours['balanced_accuracy']:.3f} on "
            f"{ours['polar']} positive/negative; {ours['neutral']} neutral: mean |sentiment| "
            f"{ours['neutral_mean_abs']:.3f}, {ours['neutral_over_half']} above 0.5"
        )
        print(f"      {complaint_figures(rows, lambda text: analyze(text).is_complaint)}")
        if language == "en":
            plain = sentiment_figures(
                rows, lambda text: float(vader.polarity_scores(text)["compound"])
            )
            print(
                f"  en, plain VADER: balanced accuracy {plain['balanced_accuracy']:.3f}; "
                f"neutral mean |sentiment| {plain['neutral_mean_abs']:.3f}"
            )

    print("\n== Throughput: whole analysis of short texts, one process")
    chinese_texts = [t for t in data.test_texts if len(t) <= SHORT][:2000]
    english_texts = [row.text for row in read_labelled("english_short.csv")]
    mixed = [text for pair in zip(chinese_texts, english_texts * 10, strict=False) for text in pair]
    for label, texts in (("Chinese", chinese_texts), ("English", english_texts), ("mixed", mixed)):
        rate = throughput(analyze, texts, args.seconds)
        print(f"  {label:<8} {rate:8.0f} texts per CPU second   ({1e6 / rate:.0f} µs a text)")
    rate = async_throughput(mixed, args.seconds)
    print(f"  mixed, through analyze_text and the plugin manager: {rate:.0f} texts per CPU second")


if __name__ == "__main__":
    main()
