"""The formulas on hand-computed examples (docs/scoring.md writes the same ones out)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from socialcrm.server.scoring.formulas import (
    SECONDS_PER_DAY,
    Measures,
    churn_risk,
    compute,
    decay,
    engagement,
    sentiment,
    social_value,
    timing,
    value,
)
from socialcrm.server.scoring.graph import influence, log_normalized, pagerank
from socialcrm.server.scoring.settings import DEFAULTS, ScoringParameters
from socialcrm.server.scoring.stages import DECLINE, EXPLORATION, FORMATION, LOST, STABILITY

DAY = SECONDS_PER_DAY
NOW = 1_800_000_000.0


def one(**values: float | bool) -> Measures:
    """Measures of one customer."""
    m = Measures.empty(1)
    for name, number in values.items():
        getattr(m, name)[0] = number
    return m


def steady(days: int, every: float, weight: float, stop_after: int | None = None) -> Measures:
    """One customer active every ``every`` days for ``days`` days (until ``stop_after``),
    measured at NOW: the sums as the live path and the batch keep them."""
    times = NOW - (days - np.arange(0, days, every)) * DAY
    if stop_after is not None:
        times = times[times <= NOW - (days - stop_after) * DAY]
    age = NOW - times
    return one(
        activity_recent=float((weight * decay(age, 30)).sum()),
        activity_baseline=float((weight * decay(age, 180)).sum()),
        inbound_count=len(times),
        outbound_count=1,
        first_seen=float(times.min()),
        last_inbound=float(times.max()),
    )


def test_decay_halves_at_each_half_life() -> None:
    assert decay(30 * DAY, 30)[()] == pytest.approx(0.5)
    assert decay(60 * DAY, 30)[()] == pytest.approx(0.25)
    assert decay(-5 * DAY, 30)[()] == 1.0  # a time after the reference counts as now


def test_engagement_saturates() -> None:
    scale = DEFAULTS.engagement_scale
    a = np.array([0.0, scale * math.log(2), scale * math.log(10), 1e6])
    assert engagement(a, DEFAULTS) == pytest.approx([0.0, 50.0, 90.0, 100.0])


def test_sentiment_is_a_mean_shrunk_toward_neutral() -> None:
    # Two messages at +0.75 (weights 1 each) and the prior weight 1: 1.5 / (2 + 1).
    assert sentiment(np.array([1.5]), np.array([2.0]), DEFAULTS) == pytest.approx([0.5])
    assert sentiment(np.array([0.0]), np.array([0.0]), DEFAULTS) == pytest.approx([0.0])
    no_prior = DEFAULTS.model_copy(update={"sentiment_prior_weight": 0.0})
    assert sentiment(np.array([-1.8]), np.array([2.0]), no_prior) == pytest.approx([-0.9])
    assert sentiment(np.array([0.0]), np.array([0.0]), no_prior) == pytest.approx([0.0])


def test_value_is_recency_frequency_and_money() -> None:
    # Bought today (R = 1), three times (F = 1 - e^-1), 1000 spent (M = 1 - e^-1):
    # 100 · (0.3 · 1 + 0.3 · 0.632 + 0.4 · 0.632) = 74.25.
    m = one(purchase_count=3, purchase_total=1000, last_purchase=NOW, first_purchase=NOW - DAY)
    expected = 100 * (0.3 + 0.7 * (1 - math.exp(-1)))
    assert value(m, NOW, DEFAULTS) == pytest.approx([expected])
    # 90 days later the recency has halved.
    later = 100 * (0.3 * 0.5 + 0.7 * (1 - math.exp(-1)))
    assert value(m, NOW + 90 * DAY, DEFAULTS) == pytest.approx([later])
    assert value(one(), NOW, DEFAULTS) == pytest.approx([0.0])


def test_social_value_is_a_weighted_mean() -> None:
    result = social_value(np.array([50.0]), np.array([60.0]), np.array([10.0]), DEFAULTS)
    assert result == pytest.approx([0.4 * 50 + 0.3 * 60 + 0.3 * 10])


def test_churn_risk_is_a_noisy_or() -> None:
    quiet = one(last_inbound=NOW - 45 * DAY, first_seen=NOW - 45 * DAY)
    t = timing(quiet, NOW, DEFAULTS)
    # Silent for half the horizon: 0.6 · 0.5; nothing else.
    assert churn_risk(quiet, NOW, np.array([0.0]), t, DEFAULTS) == pytest.approx([0.3])
    gone = one(last_inbound=NOW - 45 * DAY, first_seen=NOW - 45 * DAY, unfollowed=True)
    # And unfollowed: 1 - (1 - 0.3)(1 - 0.9).
    assert churn_risk(gone, NOW, np.array([0.0]), t, DEFAULTS) == pytest.approx([0.93])
    # Negative (-0.5) on top of the silence: 1 - 0.7 · (1 - 0.4 · 0.5).
    assert churn_risk(quiet, NOW, np.array([-0.5]), t, DEFAULTS) == pytest.approx([0.44])


def test_a_steady_customer_has_a_rate_ratio_of_one_and_a_stopped_one_falls() -> None:
    regular = steady(days=100, every=2, weight=3)
    assert timing(regular, NOW, DEFAULTS).rate_ratio == pytest.approx([1.0], abs=0.05)
    stopped = steady(days=160, every=2, weight=3, stop_after=90)
    assert timing(stopped, NOW, DEFAULTS).rate_ratio[0] < DEFAULTS.decline_ratio


def test_stage_rules() -> None:
    def stage_of(m: Measures, at: float = NOW) -> int:
        return int(compute(m, at, DEFAULTS).stage[0])

    first = one(
        activity_recent=3, activity_baseline=3, inbound_count=1, first_seen=NOW, last_inbound=NOW
    )
    assert stage_of(first) == EXPLORATION
    exchange = one(
        activity_recent=6.3,
        activity_baseline=6.3,
        inbound_count=2,
        outbound_count=1,
        first_seen=NOW - DAY,
        last_inbound=NOW,
    )
    assert stage_of(exchange) == FORMATION
    bought = one(purchase_count=1, first_purchase=NOW, last_purchase=NOW, first_seen=NOW)
    assert stage_of(bought) == FORMATION
    assert stage_of(steady(days=100, every=2, weight=3)) == STABILITY
    repeat = one(
        purchase_count=2,
        first_purchase=NOW - 40 * DAY,
        last_purchase=NOW,
        first_seen=NOW - 40 * DAY,
        last_inbound=NOW,
        activity_recent=5,
        activity_baseline=6,
    )
    assert stage_of(repeat) == STABILITY
    assert stage_of(steady(days=160, every=2, weight=3, stop_after=90)) == DECLINE
    # Never formed: a falling rate is not a decline.
    lonely = steady(days=160, every=2, weight=3, stop_after=90)
    lonely.outbound_count[0] = 0
    assert stage_of(lonely) == EXPLORATION
    assert stage_of(steady(days=300, every=2, weight=3, stop_after=100)) == LOST
    unfollowed = steady(days=100, every=2, weight=3)
    unfollowed.unfollowed[0] = True
    assert stage_of(unfollowed) == LOST


def test_a_silent_customer_counts_from_creation() -> None:
    never = one(created=NOW - 200 * DAY)
    assert int(compute(never, NOW, DEFAULTS).stage[0]) == LOST
    assert timing(never, NOW, DEFAULTS).silence_days == pytest.approx([200.0])


def test_the_arrays_are_computed_customer_by_customer() -> None:
    both = Measures.empty(2)
    both.activity_recent[:] = [0.0, 10.0]
    alone = compute(one(activity_recent=10.0), NOW, DEFAULTS)
    together = compute(both, NOW, DEFAULTS)
    assert together.engagement[1] == pytest.approx(alone.engagement[0])
    assert together.engagement[0] == 0.0


def test_pagerank_gives_a_hub_more_than_a_leaf() -> None:
    # Customers 1, 2 and 3 mention 0 (the hub); 4 mentions 1.
    sources = np.array([1, 2, 3, 4])
    targets = np.array([0, 0, 0, 1])
    ranks = pagerank(sources, targets, np.ones(4), np.ones(5), 0.85)
    assert ranks.rank.sum() == pytest.approx(1.0)
    assert ranks.rank[0] > ranks.rank[1] > ranks.rank[2]
    assert ranks.received[4] == 0.0  # nobody points at a leaf
    scores = influence(ranks.received, np.zeros(5), DEFAULTS)
    assert scores[0] > scores[1] > scores[4] == 0.0
    assert scores.max() == pytest.approx(100 * 0.6)  # the graph share of the top one


def test_influence_mixes_network_and_audience() -> None:
    audience = np.array([0.0, 99.0, 9.0])
    assert log_normalized(audience) == pytest.approx([0.0, 1.0, 0.5])
    scores = influence(np.zeros(3), audience, DEFAULTS)
    assert scores == pytest.approx([0.0, 40.0, 20.0])
    assert log_normalized(np.zeros(3)) == pytest.approx([0.0, 0.0, 0.0])


def test_a_workspace_without_edges_still_ranks() -> None:
    ranks = pagerank(
        np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.ones(3), 0.85
    )
    assert ranks.rank == pytest.approx([1 / 3] * 3)
    assert ranks.received == pytest.approx([0.0] * 3)


def test_parameters_are_per_workspace() -> None:
    slow = ScoringParameters(engagement_half_life_days=60, baseline_half_life_days=365)
    m = steady(days=100, every=2, weight=3)
    assert compute(m, NOW + 30 * DAY, slow).engagement[0] > 0
    assert slow.interaction_weight("message", "inbound") == 3.0
    assert slow.interaction_weight("delivery", "inbound") == 0.0
    assert slow.interaction_weight("message", "outbound") == 0.3
