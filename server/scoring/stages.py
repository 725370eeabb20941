"""Lifecycle stages and the rules that infer them from a customer's measures.

The rules are a pure function of the measures at a reference time (no memory of the stage
before), so the live path and the batch agree, and replaying history gives the same stage.
A stage set by hand (``customer.stage_set_by``) is not the rules' business: callers keep it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from socialcrm.server.scoring.settings import ScoringParameters

if TYPE_CHECKING:
    from socialcrm.server.scoring.formulas import Measures

STAGES = ("exploration", "formation", "stability", "decline", "lost")
"""The stages, in the order of their codes (0 to 4)."""

EXPLORATION, FORMATION, STABILITY, DECLINE, LOST = range(len(STAGES))

SECONDS_PER_DAY = 86_400.0


@dataclass(slots=True)
class Timing:
    """What time says about N customers at a reference time."""

    silence_days: npt.NDArray[np.float64]
    """Since the last inbound activity (or the first interaction, or creation)."""
    tenure_days: npt.NDArray[np.float64]
    """Since the first interaction (0 without one)."""
    rate_ratio: npt.NDArray[np.float64]
    """Recent activity rate over the baseline rate; NaN without a baseline."""


def stage_code(name: str) -> int:
    """The code of a stage name (``ValueError`` for an unknown one)."""
    return STAGES.index(name)


def infer_stages(
    m: Measures,
    engagement: npt.NDArray[np.float64],
    t: Timing,
    p: ScoringParameters,
) -> npt.NDArray[np.int8]:
    """The stage the rules give each customer, first rule that holds:

    1. lost: unfollowed everywhere, or silent for ``lost_after_days``;
    2. decline: a relationship was formed, and the recent activity rate fell below
       ``decline_ratio`` of the baseline rate;
    3. stability: formed, and either regular engagement (tenure ≥
       ``stability_min_tenure_days`` with engagement ≥ ``stability_min_engagement``) or
       repeat purchases (≥ ``stability_min_purchases`` spanning ≥
       ``repeat_purchase_span_days``);
    4. formation: a two-way exchange (≥ ``formation_min_inbound`` inbound and ≥
       ``formation_min_outbound`` outbound activities) or a purchase;
    5. exploration otherwise.
    """
    formed = (
        (m.inbound_count >= p.formation_min_inbound)
        & (m.outbound_count >= p.formation_min_outbound)
    ) | (m.purchase_count >= 1)
    lost = m.unfollowed | (t.silence_days >= p.lost_after_days)
    ratio = np.where(np.isnan(t.rate_ratio), np.inf, t.rate_ratio)
    declining = formed & (ratio < p.decline_ratio)
    purchase_span = np.where(
        np.isnan(m.first_purchase), 0.0, (m.last_purchase - m.first_purchase) / SECONDS_PER_DAY
    )
    regular = (t.tenure_days >= p.stability_min_tenure_days) & (
        engagement >= p.stability_min_engagement
    )
    repeat = (m.purchase_count >= p.stability_min_purchases) & (
        purchase_span >= p.repeat_purchase_span_days
    )
    stable = formed & (regular | repeat)
    stage = np.select(
        [lost, declining, stable, formed],
        [LOST, DECLINE, STABILITY, FORMATION],
        default=EXPLORATION,
    )
    return np.asarray(stage, dtype=np.int8)
