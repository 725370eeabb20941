"""What a score update tells the rest of the system after its transaction commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from socialcrm.plugins.models import CustomerChange
from socialcrm.server.scoring.formulas import SCORE_NAMES, SCORE_RANGES

DELTA_DIGITS = 6
"""Deltas are rounded to millionths of a range: finer moves are float noise."""


@dataclass(slots=True)
class ScoreAnnouncement:
    """A customer's score move and stage change, to announce once committed.

    ``envelope`` is the ``scores_topic`` message (None when no score moved and the stage
    stayed); ``customer_changes`` are the ``scrm_customer_changed`` events of a stage
    change (change ``stage``).
    """

    workspace_id: int
    envelope: dict[str, Any] | None = None
    customer_changes: list[CustomerChange] = field(default_factory=list)


def score_envelope(
    customer_id: int,
    old: dict[str, float],
    new: dict[str, float],
    stage: str,
    previous_stage: str,
    at: datetime,
) -> dict[str, Any]:
    """The ``scores_topic`` envelope (see ``socialcrm.server.bus.base.scores_topic``)."""
    return {
        "customer_id": customer_id,
        "scores": {name: float(new[name]) for name in SCORE_NAMES},
        "deltas": {
            name: round((float(new[name]) - float(old[name])) / SCORE_RANGES[name], DELTA_DIGITS)
            for name in SCORE_NAMES
        },
        "stage": stage,
        "previous_stage": previous_stage,
        "at": at.isoformat(),
    }


def stage_change_event(
    workspace_id: int,
    customer_id: int,
    previous: str,
    stage: str,
    source: str,
    set_by: str | None = None,
) -> CustomerChange:
    """The ``scrm_customer_changed`` event of a stage change (change ``stage``)."""
    return CustomerChange(
        workspace_id,
        customer_id,
        "stage",
        {"from": previous, "to": stage, "source": source, "set_by": set_by},
    )
