"""Rebuild the Chinese sentiment model shipped as plugins/text/sentiment_zh.json.gz.

Trains a logistic regression (scikit-learn, from the ``dev`` extra) on the labelled reviews of
the corpus folder: ``ChnSentiCorp_htl_all.csv`` (hotel reviews: label,review) and
``online_shopping_10_cats.csv`` (shop reviews in ten categories: cat,label,review). The
features are those of ``socialcrm.plugins.text.model.sentiment_features``, from the same
normalization and jieba segmentation the analyzer uses at run time, so the model scores at
run time exactly what it was trained on. Only the weights that matter are kept (``--prune``),
rounded, in a gzip'd JSON with sorted keys: the same corpus gives the same file, byte for
byte. The corpus files themselves are never shipped.

    .venv/bin/python scripts/build_text_model.py            # corpus: ../shared/corpora/sentiment
    .venv/bin/python scripts/build_text_model.py --corpus PATH --output model.json.gz

The default corpus folder is ``shared/corpora/sentiment`` in the repository's parent folder
(``../shared/corpora/sentiment`` seen from the repository). ``bench/analysis.py`` imports
this file to train on some categories and measure on the others.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from socialcrm.plugins.text import chinese
from socialcrm.plugins.text.model import FORMAT, normalize, sentiment_features

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "sentiment"
DEFAULT_OUTPUT = ROOT / "plugins" / "text" / "sentiment_zh.json.gz"
HOTEL_FILE = "ChnSentiCorp_htl_all.csv"
SHOP_FILE = "online_shopping_10_cats.csv"
HOTEL_CATEGORY = "ChnSentiCorp 酒店"

C = 4.0
"""Inverse regularization strength: chosen on held-out categories (bench/analysis.py)."""
MIN_DF = 2
"""A feature seen in fewer reviews is noise."""
PRUNE = 0.2
"""Weights smaller than this (in absolute value) are dropped: a tenth of the file, the same
balanced accuracy on held-out categories."""
DECIMALS = 3


@dataclass(frozen=True, slots=True)
class Review:
    """One labelled review of the corpus."""

    category: str
    positive: bool
    text: str


def load_corpus(folder: Path) -> list[Review]:
    """Every review of both files, each text once (the first label wins), in file order."""
    reviews: list[Review] = []
    seen: set[str] = set()

    def add(category: str, label: str, text: str | None) -> None:
        text = (text or "").strip()
        if text and text not in seen and label in ("0", "1"):
            seen.add(text)
            reviews.append(Review(category, label == "1", text))

    with (folder / HOTEL_FILE).open(encoding="utf-8-sig", newline="") as file:
        for row in csv.DictReader(file):
            add(HOTEL_CATEGORY, row["label"], row["review"])
    with (folder / SHOP_FILE).open(encoding="utf-8-sig", newline="") as file:
        for row in csv.DictReader(file):
            add(row["cat"], row["label"], row["review"])
    return reviews


def features(text: str) -> set[str]:
    """The model's features of a raw text, as the analyzer computes them."""
    normalized = normalize(text)
    return sentiment_features(normalized, chinese.words(normalized))


def _matrix(rows: Sequence[set[str]], vectorizer: CountVectorizer, fit: bool) -> Any:
    documents = [sorted(row) for row in rows]
    counts = vectorizer.fit_transform(documents) if fit else vectorizer.transform(documents)
    # Each present feature weighs 1/sqrt(n) for n features of the text, known or not:
    # the same scaling the run-time scorer applies.
    scale = 1 / np.sqrt(np.maximum(1, [len(row) for row in rows]))
    return sparse.diags(scale) @ counts.astype(np.float64)


def train(
    texts: Sequence[str],
    positive: Sequence[bool],
    *,
    c: float = C,
    min_df: int = MIN_DF,
    prune: float = PRUNE,
) -> dict[str, Any]:
    """Train on ``texts`` and return the model as the JSON its file holds."""
    rows = [features(text) for text in texts]
    vectorizer = CountVectorizer(analyzer=_identity, binary=True, min_df=min_df)
    matrix = _matrix(rows, vectorizer, fit=True)
    # No intercept: a text with no feature the model knows is neutral.
    model = LogisticRegression(
        C=c, max_iter=5000, class_weight="balanced", fit_intercept=False, random_state=0
    )
    model.fit(matrix, np.asarray(positive, dtype=int))
    names = vectorizer.get_feature_names_out()
    weights = {
        str(name): round(float(weight), DECIMALS)
        for name, weight in zip(names, model.coef_[0], strict=True)
        if abs(weight) >= prune
    }
    return {
        "format": FORMAT,
        "weights": dict(sorted(weights.items())),
        "trained_on": {
            "reviews": len(texts),
            "positive": int(sum(positive)),
            "features_seen": len(names),
            "c": c,
            "min_df": min_df,
            "prune": prune,
        },
    }


def _identity(document: list[str]) -> list[str]:
    return document


def write_model(model: dict[str, Any], path: Path) -> int:
    """Write the model as gzip'd JSON (no timestamp in the header); returns its size."""
    text = json.dumps(model, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    blob = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
    path.write_bytes(blob)
    return len(blob)


def categories(reviews: Iterable[Review]) -> list[str]:
    """The corpus's categories, sorted."""
    return sorted({review.category for review in reviews})


def main(argv: Sequence[str] | None = None) -> int:
    """Build the model from ``--corpus`` into ``--output``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="model file")
    args = parser.parse_args(argv)
    missing = [name for name in (HOTEL_FILE, SHOP_FILE) if not (args.corpus / name).is_file()]
    if missing:
        print(f"error: {args.corpus} has no {', '.join(missing)}", file=sys.stderr)
        return 2
    reviews = load_corpus(args.corpus)
    print(f"{len(reviews)} reviews in {len(categories(reviews))} categories; training …")
    model = train([r.text for r in reviews], [r.positive for r in reviews])
    size = write_model(model, args.output)
    seen = model["trained_on"]["features_seen"]
    print(
        f"kept {len(model['weights'])} of {seen} feature weights "
        f"(|w| >= {PRUNE}); wrote {args.output} ({math.ceil(size / 1024)} KiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
