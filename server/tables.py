"""The database tables (SQLModel). Every row that belongs to a workspace carries its id.

Alembic's migrations are generated from this metadata; ``tests/test_migrations.py`` fails
when the two drift apart.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from socialcrm.server.sqltypes import BigIntId, JsonDoc, UTCDateTime, utcnow

# Constraint names that are the same on every database, so migrations stay portable.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _id() -> Any:
    return Field(default=None, primary_key=True, sa_type=BigIntId)


def _fk(target: str, *, nullable: bool = False, index: bool = True) -> Any:
    return Field(
        default=None if nullable else ...,
        foreign_key=target,
        sa_type=BigIntId,
        index=index,
        nullable=nullable,
    )


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


def _json(default: Any = dict) -> Any:
    return Field(default_factory=default, sa_type=JsonDoc, nullable=False)


class Workspace(SQLModel, table=True):
    """A tenant: one brand's CRM. Nothing crosses workspaces."""

    id: int | None = _id()
    slug: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    created_at: datetime = _ts()


class ApiToken(SQLModel, table=True):
    """A bearer token of one workspace; only its SHA-256 hash is stored."""

    __tablename__ = "api_token"

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id")
    name: str = Field(default="", max_length=200)
    token_hash: str = Field(unique=True, max_length=64)
    scope: str = Field(max_length=16)
    """read, write or admin; each includes the ones before it."""
    created_at: datetime = _ts()
    last_used_at: datetime | None = _ts(nullable=True)
    revoked_at: datetime | None = _ts(nullable=True)
    expires_at: datetime | None = _ts(nullable=True)
    """From this moment on the token is refused like a revoked one; None: it never expires."""


class ChannelAccount(SQLModel, table=True):
    """A connected account of a channel (a WeChat official account, a Weibo account …)."""

    __tablename__ = "channel_account"
    __table_args__ = (UniqueConstraint("channel", "slug"),)

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id")
    channel: str = Field(max_length=64)
    slug: str = Field(max_length=64)
    """The account's part of its webhook URL: ``/webhooks/{channel}/{slug}``."""
    name: str = Field(default="", max_length=200)
    settings: dict[str, Any] = _json()
    """Channel settings including secrets; the API never returns the secret ones."""
    created_at: datetime = _ts()


class ChannelState(SQLModel, table=True):
    """Durable key/value state of a channel account (access tokens, poll cursors)."""

    __tablename__ = "channel_state"

    account_id: int = Field(foreign_key="channel_account.id", primary_key=True, sa_type=BigIntId)
    key: str = Field(primary_key=True, max_length=128)
    value: Any = Field(default=None, sa_type=JsonDoc, nullable=True)
    expires_at: datetime | None = _ts(nullable=True)
    updated_at: datetime = _ts()


class Customer(SQLModel, table=True):
    """One person, joined from all their identities."""

    __table_args__ = (
        Index("ix_customer_workspace_id_id", "workspace_id", "id"),
        Index("ix_customer_workspace_id_last_seen_at", "workspace_id", "last_seen_at"),
    )

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id", index=False)
    display_name: str = Field(default="", max_length=200)
    handle: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)
    avatar_url: str | None = Field(default=None, max_length=1000)
    language: str | None = Field(default=None, max_length=32)
    location: str | None = Field(default=None, max_length=200)
    lifecycle_stage: str = Field(default="exploration", max_length=16)
    """exploration, formation, stability, decline or lost."""
    stage_set_by: str | None = Field(default=None, max_length=200)
    """Who set the stage by hand; while set, the inferred stage does not replace it."""
    stage_changed_at: datetime | None = _ts(nullable=True)
    attributes: dict[str, Any] = _json()
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    last_seen_at: datetime | None = _ts(nullable=True)
    merged_into_id: int | None = _fk("customer.id", nullable=True, index=False)
    """Set when this customer was merged into another; such rows are hidden."""


class Identity(SQLModel, table=True):
    """A customer's identity on a channel: (channel, external id) is unique per workspace."""

    __table_args__ = (UniqueConstraint("workspace_id", "channel", "external_id"),)

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id", index=False)
    customer_id: int = _fk("customer.id")
    channel: str = Field(max_length=64)
    external_id: str = Field(max_length=255)
    handle: str | None = Field(default=None, max_length=255)
    account_id: int | None = _fk("channel_account.id", nullable=True, index=False)
    """The account the identity was seen on (openids are per official account)."""
    following: bool | None = Field(default=None)
    profile: dict[str, Any] = _json()
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Community(SQLModel, table=True):
    """A brand community: a WeChat group, a Weibo topic, a mailing list."""

    __table_args__ = (
        UniqueConstraint("workspace_id", "channel", "external_id"),
        Index("ix_community_workspace_id_id", "workspace_id", "id"),
    )

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id", index=False)
    name: str = Field(max_length=200)
    description: str = Field(default="", sa_type=Text)
    channel: str | None = Field(default=None, max_length=64)
    account_id: int | None = _fk("channel_account.id", nullable=True, index=False)
    external_id: str | None = Field(default=None, max_length=255)
    dismissed_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()


class Membership(SQLModel, table=True):
    """A customer's membership of a community, with a role."""

    __table_args__ = (UniqueConstraint("community_id", "customer_id"),)

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id", index=False)
    community_id: int = _fk("community.id", index=False)
    customer_id: int = _fk("customer.id")
    role: str = Field(default="member", max_length=32)
    """member, admin or opinion_leader."""
    joined_at: datetime = _ts()


class RawEvent(SQLModel, table=True):
    """The inbox: every verified webhook payload, stored before it is processed."""

    __tablename__ = "raw_event"
    __table_args__ = (
        UniqueConstraint("account_id", "dedupe_key"),
        Index("ix_raw_event_status_received_at", "status", "received_at"),
    )

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id", index=False)
    account_id: int = _fk("channel_account.id", index=False)
    channel: str = Field(max_length=64)
    dedupe_key: str = Field(max_length=64)
    """SHA-256 of the payload's event ids: a platform's retry maps to the same row."""
    body: str = Field(sa_type=Text)
    """The verified (decrypted) payload, as text (base64 when it is not UTF-8)."""
    meta: dict[str, Any] = _json()
    status: str = Field(default="pending", max_length=16)
    """pending, processed or failed."""
    error: str | None = Field(default=None, sa_type=Text)
    attempts: int = Field(default=0)
    received_at: datetime = _ts()
    processed_at: datetime | None = _ts(nullable=True)


class WebhookReplayKey(SQLModel, table=True):
    """A signed webhook query already used, kept for its channel's replay window.

    For platforms whose signature does not cover the body: the same signed query with
    another body is refused, across every worker.
    """

    __tablename__ = "webhook_replay_key"
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    id: int | None = _id()
    account_id: int = _fk("channel_account.id", index=False)
    key: str = Field(max_length=64)
    """SHA-256 of what the platform signed (timestamp and nonce or token)."""
    body_sha256: str = Field(max_length=64)
    expires_at: datetime = _ts(index=True)


class Interaction(SQLModel, table=True):
    """Something a customer and the brand did or said, on a channel or recorded by hand."""

    __table_args__ = (
        UniqueConstraint("account_id", "external_id"),
        Index("ix_interaction_customer_id_occurred_at", "customer_id", "occurred_at"),
        Index("ix_interaction_workspace_id_occurred_at", "workspace_id", "occurred_at"),
        Index("ix_interaction_community_id_occurred_at", "community_id", "occurred_at"),
    )

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id", index=False)
    channel: str = Field(max_length=64)
    """The channel name, or ``manual`` for interactions recorded by hand."""
    account_id: int | None = _fk("channel_account.id", nullable=True, index=False)
    kind: str = Field(max_length=32)
    direction: str = Field(max_length=16)
    content_type: str = Field(default="text", max_length=64)
    customer_id: int = _fk("customer.id", index=False)
    community_id: int | None = _fk("community.id", nullable=True, index=False)
    content: str | None = Field(default=None, sa_type=Text)
    data: dict[str, Any] = _json()
    occurred_at: datetime = _ts()
    external_id: str | None = Field(default=None, max_length=255)
    thread_id: str | None = Field(default=None, max_length=255)
    in_reply_to_id: int | None = _fk("interaction.id", nullable=True, index=False)
    sentiment: float | None = Field(default=None)
    """-1 to 1, from the text analysis (None: no text, or not analyzed)."""
    language: str | None = Field(default=None, max_length=16)
    """The text's language (``zh``, ``en`` … ``und``), from the text analysis."""
    is_complaint: bool | None = Field(default=None)
    keywords: list[str] = _json(list)
    amount: float | None = Field(default=None)
    """A purchase's amount, in ``currency``."""
    currency: str | None = Field(default=None, max_length=3)
    delivery_status: str | None = Field(default=None, max_length=32)
    """For outbound messages: sent, delivered, failed."""
    raw_event_id: int | None = _fk("raw_event.id", nullable=True, index=False)
    raw: dict[str, Any] = _json()
    created_at: datetime = _ts()


class Relationship(SQLModel, table=True):
    """A customer-to-customer edge (mention, repost, reply, referral, follow), counted."""

    __table_args__ = (
        UniqueConstraint("source_id", "target_id", "kind"),
        Index("ix_relationship_workspace_id_target_id", "workspace_id", "target_id"),
    )

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id", index=False)
    source_id: int = _fk("customer.id", index=False)
    target_id: int = _fk("customer.id", index=False)
    kind: str = Field(max_length=16)
    count: int = Field(default=1)
    first_at: datetime = _ts()
    last_at: datetime = _ts()


class Score(SQLModel, table=True):
    """A customer's current scores, one row per customer (each 0-100 unless noted), and the
    running measures they are computed from (docs/scoring.md).

    The decayed sums hold their value as of ``measured_at``; the live path decays them to
    the new interaction's time and adds it, the batch rescore recomputes them from history.
    """

    customer_id: int = Field(foreign_key="customer.id", primary_key=True, sa_type=BigIntId)
    workspace_id: int = _fk("workspace.id")
    engagement: float = Field(default=0.0)
    influence: float = Field(default=0.0)
    sentiment: float = Field(default=0.0)
    """-1 (negative) to 1 (positive)."""
    value: float = Field(default=0.0)
    social_value: float = Field(default=0.0)
    churn_risk: float = Field(default=0.0)
    """0 to 1."""
    updated_at: datetime = _ts()
    measured_at: datetime | None = _ts(nullable=True)
    """The time the decayed sums below are valid at."""
    activity_recent: float = Field(default=0.0)
    """Weighted activity, decayed with the engagement half-life."""
    activity_baseline: float = Field(default=0.0)
    """Weighted activity, decayed with the (longer) baseline half-life: the customer's past."""
    sentiment_sum: float = Field(default=0.0)
    sentiment_weight: float = Field(default=0.0)
    inbound_count: int = Field(default=0)
    outbound_count: int = Field(default=0)
    complaint_count: int = Field(default=0)
    purchase_count: int = Field(default=0)
    purchase_total: float = Field(default=0.0)
    """In the workspace's currency."""
    first_seen_at: datetime | None = _ts(nullable=True)
    last_inbound_at: datetime | None = _ts(nullable=True)
    first_purchase_at: datetime | None = _ts(nullable=True)
    last_purchase_at: datetime | None = _ts(nullable=True)
    last_complaint_at: datetime | None = _ts(nullable=True)
    unfollowed: bool = Field(default=False)
    """Every identity that followed the brand has unfollowed."""
    centrality: float = Field(default=0.0)
    """Personalized PageRank in the customer graph, times the number of customers."""
    audience: int = Field(default=0)
    """Followers a channel reports (the largest of the customer's identities)."""


class ScoreHistory(SQLModel, table=True):
    """A customer's scores at the end of each day on which they changed (docs/scoring.md
    explains why a day's last values rather than a row per change)."""

    __tablename__ = "score_history"
    __table_args__ = (UniqueConstraint("customer_id", "day"),)

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id", index=False)
    customer_id: int = _fk("customer.id", index=False)
    day: date = Field(sa_type=Date)
    engagement: float
    influence: float
    sentiment: float
    value: float
    social_value: float
    churn_risk: float
    recorded_at: datetime = _ts()


class StageChange(SQLModel, table=True):
    """A lifecycle stage change of a customer, by the rules or by a person."""

    __tablename__ = "stage_change"
    __table_args__ = (Index("ix_stage_change_customer_id_changed_at", "customer_id", "changed_at"),)

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id", index=False)
    customer_id: int = _fk("customer.id", index=False)
    from_stage: str | None = Field(default=None, max_length=16)
    to_stage: str = Field(max_length=16)
    source: str = Field(max_length=16)
    """rule, manual or cleared (a person gave the stage back to the rules)."""
    set_by: str | None = Field(default=None, max_length=200)
    changed_at: datetime = _ts()


class ScoringSettings(SQLModel, table=True):
    """A workspace's scoring parameters (half-lives, weights, stage thresholds); the
    defaults of ``socialcrm.server.scoring.settings`` fill what is not set."""

    __tablename__ = "scoring_settings"

    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True, sa_type=BigIntId)
    settings: dict[str, Any] = _json()
    updated_at: datetime = _ts()
    rescored_at: datetime | None = _ts(nullable=True)
    """When the last batch rescore of the workspace committed."""


class Tag(SQLModel, table=True):
    """A label operators and rules put on customers; names are unique per workspace."""

    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id", index=False)
    name: str = Field(max_length=100)
    created_at: datetime = _ts()


class CustomerTag(SQLModel, table=True):
    """A tag on a customer."""

    __tablename__ = "customer_tag"

    customer_id: int = Field(foreign_key="customer.id", primary_key=True, sa_type=BigIntId)
    tag_id: int = Field(foreign_key="tag.id", primary_key=True, sa_type=BigIntId, index=True)
    workspace_id: int = _fk("workspace.id", index=False)
    created_at: datetime = _ts()


class ReferralCode(SQLModel, table=True):
    """A code (a WeChat ``qrscene_`` key, an invite code) owned by a referring customer."""

    __tablename__ = "referral_code"
    __table_args__ = (UniqueConstraint("workspace_id", "code"),)

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id", index=False)
    code: str = Field(max_length=128)
    customer_id: int = _fk("customer.id")
    created_at: datetime = _ts()


class CustomerMerge(SQLModel, table=True):
    """The record of a merge: what the merged customer was, and into whom it went."""

    __tablename__ = "customer_merge"

    id: int | None = _id()
    workspace_id: int = _fk("workspace.id")
    survivor_id: int = _fk("customer.id")
    merged_id: int = _fk("customer.id", index=False)
    snapshot: dict[str, Any] = _json()
    """The merged customer's fields and what moved (identity, interaction … counts)."""
    created_at: datetime = _ts()
