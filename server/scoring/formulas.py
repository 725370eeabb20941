"""The scoring formulas, as numpy functions over arrays of customers.

The batch rescore calls them on a whole workspace at once, the live path on arrays of one
customer, so both give the same numbers for the same measures. Times are seconds since the
Unix epoch (float64); a missing time is NaN. docs/scoring.md writes every formula out.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from socialcrm.server.scoring.settings import ScoringParameters
from socialcrm.server.scoring.stages import Timing, infer_stages

Array = npt.NDArray[np.float64]

SECONDS_PER_DAY = 86_400.0
LN2 = float(np.log(2.0))

SCORE_NAMES = ("engagement", "influence", "sentiment", "value", "social_value", "churn_risk")
"""The six scores, in the order of the bus envelope and the history rows."""

SCORE_RANGES = {
    "engagement": 100.0,
    "influence": 100.0,
    "sentiment": 2.0,
    "value": 100.0,
    "social_value": 100.0,
    "churn_risk": 1.0,
}
"""The width of each score's range: deltas are reported as fractions of it."""


def decay(age_seconds: Array | float, half_life_days: float) -> Array:
    """``2^(-age / half-life)``; ages below zero (times after the reference) count as zero."""
    age = np.maximum(np.asarray(age_seconds, dtype=np.float64), 0.0)
    return np.asarray(np.exp2(-age / (half_life_days * SECONDS_PER_DAY)))


@dataclass(slots=True)
class Measures:
    """The running measures of N customers (one array each, all of length N)."""

    activity_recent: Array
    activity_baseline: Array
    sentiment_sum: Array
    sentiment_weight: Array
    inbound_count: Array
    outbound_count: Array
    complaint_count: Array
    purchase_count: Array
    purchase_total: Array
    first_seen: Array
    last_inbound: Array
    first_purchase: Array
    last_purchase: Array
    last_complaint: Array
    created: Array
    """When the customer row was created: silence counts from it when nothing else is known."""
    unfollowed: npt.NDArray[np.bool_]
    influence: Array

    @classmethod
    def empty(cls, n: int) -> Measures:
        """Measures of ``n`` customers who did nothing (times unknown, influence 0)."""
        values: dict[str, npt.NDArray[np.generic]] = {}
        for field in fields(cls):
            if field.name == "unfollowed":
                values[field.name] = np.zeros(n, dtype=np.bool_)
            elif field.name in TIME_FIELDS:
                values[field.name] = np.full(n, np.nan)
            else:
                values[field.name] = np.zeros(n)
        return cls(**values)  # type: ignore[arg-type]


TIME_FIELDS = frozenset(
    {"first_seen", "last_inbound", "first_purchase", "last_purchase", "last_complaint", "created"}
)

SUMS = (
    "activity_recent",
    "activity_baseline",
    "sentiment_sum",
    "sentiment_weight",
    "inbound_count",
    "outbound_count",
    "complaint_count",
    "purchase_count",
    "purchase_total",
)
"""The running sums and counts of the measures, named as the ``score`` columns that keep them."""

MOMENTS = ("first_seen", "last_inbound", "first_purchase", "last_purchase", "last_complaint")
"""The moments of the measures; the ``score`` column of each is its name with ``_at``."""


@dataclass(slots=True)
class Scores:
    """The scores and stages of N customers."""

    engagement: Array
    influence: Array
    sentiment: Array
    value: Array
    social_value: Array
    churn_risk: Array
    stage: npt.NDArray[np.int8]
    """Codes into ``stages.STAGES`` (the inferred stage; a manual one is applied later)."""

    def as_dict(self) -> dict[str, Array]:
        """The six scores by name."""
        return {name: getattr(self, name) for name in SCORE_NAMES}


def engagement(activity_recent: Array, p: ScoringParameters) -> Array:
    """0-100: ``100 · (1 - e^(-A / scale))`` of the recent decayed activity ``A``."""
    return np.asarray(100.0 * -np.expm1(-np.maximum(activity_recent, 0.0) / p.engagement_scale))


def sentiment(total: Array, weight: Array, p: ScoringParameters) -> Array:
    """-1..1: the decayed mean of inbound sentiment, shrunk toward neutral by a prior weight."""
    denominator = weight + p.sentiment_prior_weight
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.asarray(np.clip(np.where(denominator > 0, total / safe, 0.0), -1.0, 1.0))


def value(m: Measures, ref: Array | float, p: ScoringParameters) -> Array:
    """0-100: recency, frequency and monetary value of purchases, weighted."""
    bought = ~np.isnan(m.last_purchase)
    recency = np.where(
        bought,
        decay(
            np.asarray(ref) - np.where(bought, m.last_purchase, 0.0), p.value_recency_half_life_days
        ),
        0.0,
    )
    frequency = -np.expm1(-np.maximum(m.purchase_count, 0.0) / p.value_frequency_scale)
    monetary = -np.expm1(-np.maximum(m.purchase_total, 0.0) / p.value_monetary_scale)
    w = p.value_weights
    mix = w.recency * recency + w.frequency * frequency + w.monetary * monetary
    return np.asarray(100.0 * mix / w.total())


def social_value(
    value_: Array, engagement_: Array, influence_: Array, p: ScoringParameters
) -> Array:
    """0-100: the weighted mean of value, engagement and influence."""
    w = p.social_value_weights
    mix = w.value * value_ + w.engagement * engagement_ + w.influence * influence_
    return np.asarray(mix / w.total())


def timing(m: Measures, ref: Array | float, p: ScoringParameters) -> Timing:
    """Silence, tenure and the recent-to-baseline activity rate ratio at ``ref``."""
    ref_ = np.asarray(ref, dtype=np.float64)
    last = np.where(
        ~np.isnan(m.last_inbound),
        m.last_inbound,
        np.where(~np.isnan(m.first_seen), m.first_seen, m.created),
    )
    silence = np.where(np.isnan(last), 0.0, np.maximum(ref_ - last, 0.0)) / SECONDS_PER_DAY
    tenure_s = np.where(np.isnan(m.first_seen), 0.0, np.maximum(ref_ - m.first_seen, 0.0))
    # A decayed sum of a steady rate r over a tenure T is r · h/ln2 · (1 - 2^(-T/h)): dividing
    # by that window turns both sums into rates, comparable even for new customers.
    span = np.maximum(tenure_s, SECONDS_PER_DAY)
    recent_window = _window(span, p.engagement_half_life_days)
    baseline_window = _window(span, p.baseline_half_life_days)
    baseline_rate = m.activity_baseline / baseline_window
    has_baseline = baseline_rate > 0
    ratio = np.where(
        has_baseline,
        (m.activity_recent / recent_window) / np.where(has_baseline, baseline_rate, 1.0),
        np.nan,
    )
    return Timing(silence_days=silence, tenure_days=tenure_s / SECONDS_PER_DAY, rate_ratio=ratio)


def _window(span_seconds: Array, half_life_days: float) -> Array:
    h = half_life_days * SECONDS_PER_DAY
    return np.asarray(-np.expm1(-LN2 * span_seconds / h) * h / LN2)


def churn_risk(
    m: Measures, ref: Array | float, sentiment_: Array, t: Timing, p: ScoringParameters
) -> Array:
    """0..1: the noisy-OR ``1 - Π(1 - w_k · x_k)`` of decline, negative sentiment, silence,
    unfollowing and a recent complaint."""
    w = p.churn_weights
    decline = np.where(np.isnan(t.rate_ratio), 0.0, np.clip(1.0 - t.rate_ratio, 0.0, 1.0))
    negative = np.clip(-sentiment_, 0.0, 1.0)
    silence = np.clip(t.silence_days / p.silence_horizon_days, 0.0, 1.0)
    unfollowed = m.unfollowed.astype(np.float64)
    complained = ~np.isnan(m.last_complaint)
    complaint = np.where(
        complained,
        decay(
            np.asarray(ref) - np.where(complained, m.last_complaint, 0.0),
            p.engagement_half_life_days,
        ),
        0.0,
    )
    keep = (
        (1.0 - w.decline * decline)
        * (1.0 - w.negative_sentiment * negative)
        * (1.0 - w.silence * silence)
        * (1.0 - w.unfollowed * unfollowed)
        * (1.0 - w.complaint * complaint)
    )
    return np.asarray(np.clip(1.0 - keep, 0.0, 1.0))


def compute(m: Measures, ref: Array | float, p: ScoringParameters) -> Scores:
    """Every score and the inferred stage of the customers in ``m`` at the time ``ref``.

    Influence is taken as it is in ``m`` (the batch computes it from the network first).
    """
    engagement_ = engagement(m.activity_recent, p)
    sentiment_ = sentiment(m.sentiment_sum, m.sentiment_weight, p)
    value_ = value(m, ref, p)
    social = social_value(value_, engagement_, m.influence, p)
    t = timing(m, ref, p)
    churn = churn_risk(m, ref, sentiment_, t, p)
    stages = infer_stages(m, engagement_, t, p)
    return Scores(
        engagement=engagement_,
        influence=np.asarray(m.influence, dtype=np.float64),
        sentiment=sentiment_,
        value=value_,
        social_value=social,
        churn_risk=churn,
        stage=stages,
    )


def deltas(old: dict[str, Array], new: dict[str, Array]) -> dict[str, Array]:
    """Each score's move as a signed fraction of its range."""
    return {name: (new[name] - old[name]) / SCORE_RANGES[name] for name in SCORE_NAMES}


def moved(move: dict[str, Array], threshold: float) -> npt.NDArray[np.bool_]:
    """Where any score moved by at least ``threshold`` of its range (and by something)."""
    biggest = np.max(np.abs(np.vstack([move[name] for name in SCORE_NAMES])), axis=0)
    return np.asarray((biggest >= threshold) & (biggest > 0))
