"""A workspace's scoring parameters: every knob of the model, its default and its range.

The ``scoring_settings`` row keeps only what a workspace changed; the defaults below fill
the rest, so a workspace that changed nothing follows the defaults of the running version.
docs/scoring.md explains what each parameter does.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from socialcrm.plugins.models import InteractionKind, RelationKind
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ScoringSettings

log = logging.getLogger(__name__)

CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")

DEFAULT_INBOUND_WEIGHTS: dict[str, float] = {
    "message": 3.0,
    "comment": 3.0,
    "mention": 3.0,
    "repost": 3.0,
    "call": 3.0,
    "visit": 4.0,
    "purchase": 4.0,
    "follow": 1.0,
    "scan": 1.0,
    "join": 1.0,
    "other": 1.0,
    "click": 0.5,
    "view": 0.5,
    "location": 0.2,
    "unfollow": 0.0,
    "leave": 0.0,
    "delivery": 0.0,
    "note": 0.0,
}
"""What one inbound interaction of each kind adds to the activity sums, before decay (a
workspace's ``inbound_weights`` override some kinds; the others keep these)."""

DEFAULT_EDGE_WEIGHTS: dict[str, float] = {
    "referral": 3.0,
    "repost": 1.5,
    "mention": 1.0,
    "follow": 1.0,
    "reply": 0.5,
}
"""How much one kind of customer-to-customer edge passes on influence (times ln(1 + count))."""


class _Group(BaseModel):
    """Weights that are combined as a weighted mean: each ≥ 0, not all zero."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _not_all_zero(self) -> _Group:
        if not any(float(value) > 0 for value in self.model_dump().values()):
            raise ValueError("at least one weight must be above zero")
        return self

    def total(self) -> float:
        """The sum of the weights (> 0)."""
        return float(sum(self.model_dump().values()))


class ValueWeights(_Group):
    """The weights of recency, frequency and monetary value in the value score."""

    recency: float = Field(default=0.3, ge=0)
    frequency: float = Field(default=0.3, ge=0)
    monetary: float = Field(default=0.4, ge=0)


class InfluenceWeights(_Group):
    """The weights of the network position and of the reported audience in influence."""

    graph: float = Field(default=0.6, ge=0)
    audience: float = Field(default=0.4, ge=0)


class SocialValueWeights(_Group):
    """The weights of value, engagement and influence in the social value."""

    value: float = Field(default=0.4, ge=0)
    engagement: float = Field(default=0.3, ge=0)
    influence: float = Field(default=0.3, ge=0)


class ChurnWeights(BaseModel):
    """How strongly each signal alone pushes the churn risk toward 1 (each 0 to 1).

    The risk is a noisy-OR: ``1 - Π(1 - weight · signal)``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    decline: float = Field(default=0.5, ge=0, le=1)
    negative_sentiment: float = Field(default=0.4, ge=0, le=1)
    silence: float = Field(default=0.6, ge=0, le=1)
    unfollowed: float = Field(default=0.9, ge=0, le=1)
    complaint: float = Field(default=0.3, ge=0, le=1)


class ScoringParameters(BaseModel):
    """Every parameter of the scoring model of one workspace, with its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Engagement and the customer's own baseline.
    engagement_half_life_days: float = Field(default=30.0, gt=0)
    baseline_half_life_days: float = Field(default=180.0, gt=0)
    engagement_scale: float = Field(default=10.0, gt=0)
    inbound_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_INBOUND_WEIGHTS))
    outbound_weight: float = Field(default=0.3, ge=0)
    # Sentiment.
    sentiment_half_life_days: float = Field(default=90.0, gt=0)
    sentiment_prior_weight: float = Field(default=1.0, ge=0)
    # Value (RFM).
    currency: str = "CNY"
    exchange_rates: dict[str, float] = Field(default_factory=dict)
    value_recency_half_life_days: float = Field(default=90.0, gt=0)
    value_frequency_scale: float = Field(default=3.0, gt=0)
    value_monetary_scale: float = Field(default=1000.0, gt=0)
    value_weights: ValueWeights = Field(default_factory=ValueWeights)
    # Influence (batch only).
    edge_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_EDGE_WEIGHTS))
    pagerank_damping: float = Field(default=0.85, gt=0, lt=1)
    teleport_floor: float = Field(default=0.1, gt=0)
    influence_weights: InfluenceWeights = Field(default_factory=InfluenceWeights)
    # Social value.
    social_value_weights: SocialValueWeights = Field(default_factory=SocialValueWeights)
    # Churn risk.
    silence_horizon_days: float = Field(default=90.0, gt=0)
    churn_weights: ChurnWeights = Field(default_factory=ChurnWeights)
    # Lifecycle stages.
    formation_min_inbound: int = Field(default=2, ge=0)
    formation_min_outbound: int = Field(default=1, ge=0)
    stability_min_tenure_days: float = Field(default=60.0, ge=0)
    stability_min_engagement: float = Field(default=30.0, ge=0, le=100)
    stability_min_purchases: int = Field(default=2, ge=1)
    repeat_purchase_span_days: float = Field(default=30.0, ge=0)
    decline_ratio: float = Field(default=0.5, ge=0, le=1)
    lost_after_days: float = Field(default=180.0, gt=0)
    # Noise.
    min_delta: float = Field(default=0.0005, ge=0, le=1)
    announce_min_delta: float = Field(default=0.05, ge=0, le=1)

    @field_validator("inbound_weights")
    @classmethod
    def _known_kinds(cls, weights: dict[str, float]) -> dict[str, float]:
        known = {str(kind) for kind in InteractionKind}
        for kind, weight in weights.items():
            if kind not in known:
                raise ValueError(f"unknown interaction kind {kind!r}")
            if weight < 0:
                raise ValueError(f"the weight of {kind!r} must be ≥ 0")
        return {**DEFAULT_INBOUND_WEIGHTS, **weights}

    @field_validator("edge_weights")
    @classmethod
    def _known_edges(cls, weights: dict[str, float]) -> dict[str, float]:
        known = {str(kind) for kind in RelationKind}
        for kind, weight in weights.items():
            if kind not in known:
                raise ValueError(f"unknown relationship kind {kind!r}")
            if weight < 0:
                raise ValueError(f"the weight of {kind!r} must be ≥ 0")
        return {**DEFAULT_EDGE_WEIGHTS, **weights}

    @field_validator("currency")
    @classmethod
    def _currency(cls, code: str) -> str:
        if not CURRENCY_CODE.match(code):
            raise ValueError("a currency is three capital letters (ISO 4217), such as CNY")
        return code

    @field_validator("exchange_rates")
    @classmethod
    def _rates(cls, rates: dict[str, float]) -> dict[str, float]:
        for code, rate in rates.items():
            if not CURRENCY_CODE.match(code):
                raise ValueError(f"{code!r} is not a currency code (three capital letters)")
            if not rate > 0:
                raise ValueError(f"the rate of {code} must be above zero")
        return rates

    @field_validator("baseline_half_life_days")
    @classmethod
    def _baseline_longer(cls, days: float, info: ValidationInfo) -> float:
        engagement = info.data.get("engagement_half_life_days")
        if engagement is not None and days <= engagement:
            raise ValueError("must be longer than engagement_half_life_days")
        return days

    def inbound_weight(self, kind: str) -> float:
        """The activity weight of an inbound interaction of ``kind`` (unknown kinds: other)."""
        weights = self.inbound_weights
        return weights[kind] if kind in weights else weights["other"]

    def interaction_weight(self, kind: str, direction: str) -> float:
        """What one interaction adds to the activity sums: inbound by kind; outbound a flat
        ``outbound_weight``; a delivery report nothing."""
        if kind == str(InteractionKind.DELIVERY):
            return 0.0
        if direction == "inbound":
            return self.inbound_weight(kind)
        if direction == "outbound":
            return self.outbound_weight
        return 0.0

    def rate(self, currency: str | None) -> float | None:
        """Units of the workspace currency per unit of ``currency``; None when unknown."""
        if currency is None or currency == self.currency:
            return 1.0
        return self.exchange_rates.get(currency)


class ScoringSettingsError(ChangeRejected):
    """Scoring settings that do not validate; ``field`` names the parameter at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}", code="INVALID", field=field)


DEFAULTS = ScoringParameters()


def parameters_from(stored: dict[str, Any]) -> ScoringParameters:
    """The parameters a stored override document describes (``ScoringSettingsError`` if bad)."""
    try:
        return ScoringParameters.model_validate(stored)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ScoringSettingsError(message, field) from exc


async def load_settings(session: AsyncSession, workspace_id: int) -> ScoringParameters:
    """The workspace's scoring parameters (the defaults for what it did not change).

    A stored document that no longer validates (edited by hand, or written by a version
    with other rules) is logged and replaced by the defaults rather than stopping ingest.
    """
    row = await session.get(ScoringSettings, workspace_id)
    return _lenient(row.settings if row is not None else None, workspace_id)


async def read_settings(connection: AsyncConnection, workspace_id: int) -> ScoringParameters:
    """``load_settings`` on a connection (the batch works below the ORM)."""
    stored = await connection.scalar(
        select(col(ScoringSettings.settings)).where(
            col(ScoringSettings.workspace_id) == workspace_id
        )
    )
    return _lenient(stored, workspace_id)


def _lenient(stored: dict[str, Any] | None, workspace_id: int) -> ScoringParameters:
    if not stored:
        return DEFAULTS
    try:
        return parameters_from(stored)
    except ScoringSettingsError:
        log.exception(
            "workspace %s: stored scoring settings are invalid; using the defaults", workspace_id
        )
        return DEFAULTS


async def save_settings(
    session: AsyncSession, workspace_id: int, changes: dict[str, Any]
) -> ScoringParameters:
    """Apply ``changes`` to the workspace's scoring settings and return the result.

    Each key of ``changes`` replaces that parameter; a weight group (``value_weights`` …)
    given in part keeps its other weights; ``None`` gives a parameter back its default.
    Raises ``ScoringSettingsError`` naming the field (``value_weights.recency`` …) and
    changes nothing when the result does not validate. Runs in the caller's transaction.
    """
    row = await session.get(ScoringSettings, workspace_id, with_for_update=True)
    stored: dict[str, Any] = dict(row.settings) if row is not None else {}
    for key, value in changes.items():
        if value is None:
            stored.pop(key, None)
        elif isinstance(value, dict) and key in _GROUPS:
            stored[key] = {**stored.get(key, {}), **value}
        else:
            stored[key] = value
    parameters = parameters_from(stored)
    if row is None:
        session.add(ScoringSettings(workspace_id=workspace_id, settings=stored))
    else:
        row.settings = stored
        row.updated_at = utcnow()
    await session.flush()
    return parameters


_GROUPS = frozenset(
    name
    for name, info in ScoringParameters.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
)
"""The parameters that are groups of weights: a partial change keeps the other weights."""
