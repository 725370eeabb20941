"""What `scoreChanged` delivers: a customer's new scores, how far each moved, their stage."""

from __future__ import annotations

from datetime import datetime

import strawberry

from socialcrm.schema.customer import Customer, Scores
from socialcrm.schema.enums import LifecycleStage

DEFAULT_MIN_DELTA = 0.05
"""`scoreChanged`'s `minDelta` when not given: a move of 5% of a score's range."""


@strawberry.type(
    description="How far each score moved, as a signed fraction of the score's range: 0.1 is "
    "10 points of a 0-100 score, 0.2 of sentiment (-1..1), 0.1 of churn risk (0..1); "
    "negative when the score fell."
)
class ScoreDeltas:
    """The moves of one score change, comparable across scores."""

    engagement: float = strawberry.field(description="The engagement score's move.")
    influence: float = strawberry.field(description="The influence score's move.")
    sentiment: float = strawberry.field(description="The sentiment score's move.")
    value: float = strawberry.field(description="The value score's move.")
    social_value: float = strawberry.field(description="The social value score's move.")
    churn_risk: float = strawberry.field(description="The churn risk's move.")

    def largest(self) -> float:
        """The largest move, whichever its direction."""
        return max(
            abs(move)
            for move in (
                self.engagement,
                self.influence,
                self.sentiment,
                self.value,
                self.social_value,
                self.churn_risk,
            )
        )


@strawberry.type(description="A customer's scores or lifecycle stage changed.")
class ScoreChange:
    """One announcement of the scoring engine, as `scoreChanged` delivers it."""

    customer: Customer = strawberry.field(description="The customer, as the profile is now.")
    scores: Scores = strawberry.field(
        description="The scores after the change (`updatedAt` is the change's time)."
    )
    deltas: ScoreDeltas = strawberry.field(
        description="How far each score moved, as a fraction of its range."
    )
    lifecycle_stage: LifecycleStage = strawberry.field(description="The stage after the change.")
    previous_lifecycle_stage: LifecycleStage = strawberry.field(
        description="The stage before the change; equal to `lifecycleStage` when the stage "
        "did not move."
    )
    at: datetime = strawberry.field(description="When the scores changed.")
