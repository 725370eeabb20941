"""Read queries of the GraphQL API: Core selects over the tables, scoped to one workspace.

Every function takes the workspace id and filters by it. They return plain rows; the
resolvers turn rows into GraphQL objects. Pagination is keyset: the caller passes the sort
key of the last item it has seen, never an offset, so a page costs the same at any depth.
Batch queries (one per DataLoader batch) take many parent ids and answer for all of them,
with ``ROW_NUMBER() OVER (PARTITION BY ...)`` where each parent needs its own first N
(it works on PostgreSQL and SQLite alike).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Text,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import BindParameter, KeyedColumnElement

from socialcrm.server import tables
from socialcrm.server.sqltypes import UTCDateTime

customer = tables.Customer.__table__  # type: ignore[attr-defined]
identity = tables.Identity.__table__  # type: ignore[attr-defined]
score = tables.Score.__table__  # type: ignore[attr-defined]
tag = tables.Tag.__table__  # type: ignore[attr-defined]
customer_tag = tables.CustomerTag.__table__  # type: ignore[attr-defined]
interaction = tables.Interaction.__table__  # type: ignore[attr-defined]
community = tables.Community.__table__  # type: ignore[attr-defined]
membership = tables.Membership.__table__  # type: ignore[attr-defined]
channel_account = tables.ChannelAccount.__table__  # type: ignore[attr-defined]
workspace = tables.Workspace.__table__  # type: ignore[attr-defined]
score_history = tables.ScoreHistory.__table__  # type: ignore[attr-defined]
stage_change = tables.StageChange.__table__  # type: ignore[attr-defined]
relationship = tables.Relationship.__table__  # type: ignore[attr-defined]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Stands in for a missing ``last_seen_at`` when sorting: never seen sorts as oldest."""

MAX_MERGE_HOPS = 5
"""How far a customer id is followed along a chain of merges (A into B, B into C …)."""

SCORE_FIELDS: tuple[str, ...] = (
    "engagement",
    "influence",
    "sentiment",
    "value",
    "social_value",
    "churn_risk",
)

CUSTOMER_COLUMNS = tuple(
    customer.c[name]
    for name in (
        "id",
        "display_name",
        "handle",
        "email",
        "phone",
        "avatar_url",
        "language",
        "location",
        "lifecycle_stage",
        "stage_set_by",
        "attributes",
        "created_at",
        "updated_at",
        "last_seen_at",
    )
)
INTERACTION_ROW_COLUMNS = tuple(
    interaction.c[name]
    for name in (
        "id",
        "channel",
        "kind",
        "direction",
        "content_type",
        "content",
        "occurred_at",
        "sentiment",
        "external_id",
        "thread_id",
        "delivery_status",
        "data",
        "customer_id",
        "community_id",
        "in_reply_to_id",
        "language",
        "is_complaint",
        "keywords",
        "amount",
        "currency",
    )
)
"""An interaction's columns as stored, never ``raw``."""
INTERACTION_COLUMNS = tuple(
    # As JSON text: decoded only if the field is read (``Interaction.from_read_row``).
    cast(column, Text).label(column.name) if column.name in ("data", "keywords") else column
    for column in INTERACTION_ROW_COLUMNS
)
"""The columns ``socialcrm.schema.interaction.Interaction.from_read_row`` takes, in its order."""
COMMUNITY_COLUMNS = tuple(
    community.c[name]
    for name in (
        "id",
        "name",
        "description",
        "channel",
        "external_id",
        "created_at",
        "dismissed_at",
    )
)


# -- criteria: hashable, so equal requests share a DataLoader batch ------------------------


@dataclass(frozen=True, slots=True)
class Range:
    """Inclusive bounds; None leaves a side open."""

    min: float | None = None
    max: float | None = None


@dataclass(frozen=True, slots=True)
class CustomerCriteria:
    """Which customers: every given condition must hold."""

    search: str | None = None
    channels: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    lifecycle_stages: tuple[str, ...] = ()
    score_ranges: tuple[tuple[str, Range], ...] = ()
    active_since: datetime | None = None
    languages: tuple[str, ...] = ()
    """The customer's language is one of these (a primary tag matches its regional forms)."""
    complained: bool | None = None
    """Has at least one complaint interaction (True) or none (False)."""
    complained_since: datetime | None = None
    """The latest complaint is at or after this time."""

    @property
    def needs_scores(self) -> bool:
        """Whether the conditions read the score table."""
        return bool(
            self.score_ranges or self.complained is not None or self.complained_since is not None
        )


@dataclass(frozen=True, slots=True)
class InteractionCriteria:
    """Which interactions: every given condition must hold."""

    channels: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    direction: str | None = None
    customer_id: int | None = None
    community_id: int | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    languages: tuple[str, ...] = ()
    """The text's language is one of these (a primary tag matches its regional forms)."""
    is_complaint: bool | None = None
    """Flagged as a complaint (True) or analysed and not flagged (False)."""
    sentiment: Range | None = None


@dataclass(frozen=True, slots=True)
class CommunityCriteria:
    """Which communities: every given condition must hold."""

    search: str | None = None
    channels: tuple[str, ...] = ()
    include_dismissed: bool = False


def bound_value(value: Any, type_: Any) -> ColumnElement[Any]:
    """``value`` as a bound parameter of ``type_``; a ``bindparam`` stays as it is, so a
    statement can be built once and run with other values (``socialcrm.resolvers.compiled``)."""
    if isinstance(value, BindParameter):
        return value
    return literal(value, type_)


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    # lower() on both sides: case-insensitive on PostgreSQL and SQLite alike (ILIKE is not).
    return func.lower(column).contains(text.lower(), autoescape=True)


def _channel_match(column: Any, channels: Sequence[str]) -> ColumnElement[bool]:
    # ``wechat`` also matches the finer namespaces ``wechat.unionid`` and the like.
    clauses: list[ColumnElement[bool]] = [column.in_(list(channels))]
    clauses += [column.startswith(f"{name}.", autoescape=True) for name in channels]
    return or_(*clauses)


def _language_match(column: Any, languages: Sequence[str]) -> ColumnElement[bool]:
    # BCP 47 tags are case-insensitive, and ``zh`` also matches ``zh-CN``, ``zh-Hant-TW`` …
    # and the POSIX-style ``zh_CN`` that WeChat reports.
    tags = sorted({language.strip().lower() for language in languages})
    lowered = func.lower(column)
    clauses: list[ColumnElement[bool]] = [lowered.in_(tags)]
    clauses += [
        lowered.startswith(f"{tag}{separator}", autoescape=True)
        for tag in tags
        for separator in ("-", "_")
    ]
    return or_(*clauses)


def _in_range(value: Any, bounds: Range) -> list[Any]:
    conditions: list[Any] = []
    if bounds.min is not None:
        conditions.append(value >= bounds.min)
    if bounds.max is not None:
        conditions.append(value <= bounds.max)
    return conditions


# -- customers --------------------------------------------------------------------------------


def customer_sort_key(field: str) -> ColumnElement[Any]:
    """The SQL expression customers are sorted by for an order field (``CustomerOrderField``)."""
    if field == "id":
        return customer.c.id
    if field == "created_at":
        return customer.c.created_at
    if field == "last_seen_at":
        return func.coalesce(customer.c.last_seen_at, literal(EPOCH, UTCDateTime()))
    if field in SCORE_FIELDS:
        return func.coalesce(score.c[field], 0.0)
    raise ValueError(f"unknown customer order field {field!r}")


def _customer_conditions(
    workspace_id: int | BindParameter[int], criteria: CustomerCriteria
) -> list[Any]:
    conditions: list[Any] = [
        customer.c.workspace_id == workspace_id,
        customer.c.merged_into_id.is_(None),
    ]
    if criteria.search:
        conditions.append(
            or_(
                _contains(customer.c.display_name, criteria.search),
                _contains(customer.c.handle, criteria.search),
                exists().where(
                    identity.c.customer_id == customer.c.id,
                    identity.c.workspace_id == workspace_id,
                    _contains(identity.c.handle, criteria.search),
                ),
            )
        )
    if criteria.channels:
        conditions.append(
            exists().where(
                identity.c.customer_id == customer.c.id,
                identity.c.workspace_id == workspace_id,
                _channel_match(identity.c.channel, criteria.channels),
            )
        )
    for name in criteria.tags:
        conditions.append(
            exists()
            .select_from(customer_tag.join(tag, tag.c.id == customer_tag.c.tag_id))
            .where(
                customer_tag.c.customer_id == customer.c.id,
                tag.c.workspace_id == workspace_id,
                tag.c.name == name,
            )
        )
    if criteria.lifecycle_stages:
        conditions.append(customer.c.lifecycle_stage.in_(list(criteria.lifecycle_stages)))
    for field, bounds in criteria.score_ranges:
        conditions += _in_range(func.coalesce(score.c[field], 0.0), bounds)
    if criteria.active_since is not None:
        conditions.append(customer.c.last_seen_at >= criteria.active_since)
    if criteria.languages:
        conditions.append(_language_match(customer.c.language, criteria.languages))
    if criteria.complained is not None:
        complained = func.coalesce(score.c.complaint_count, 0) > 0
        conditions.append(complained if criteria.complained else ~complained)
    if criteria.complained_since is not None:
        conditions.append(score.c.last_complaint_at >= criteria.complained_since)
    return conditions


def _customer_from(needs_scores: bool) -> Any:
    if needs_scores:
        return customer.outerjoin(score, score.c.customer_id == customer.c.id)
    return customer


def customers_page(
    workspace_id: int | BindParameter[int],
    criteria: CustomerCriteria,
    order_field: str,
    descending: bool,
    after: tuple[Any, int] | None,
    limit: int | BindParameter[int],
) -> Select[Any]:
    """One page of customers (with the sort key as ``sort_key``), after a keyset position."""
    key = customer_sort_key(order_field)
    # The score table is joined only when a filter or the order needs it: joining it for
    # nothing made PostgreSQL scan it on every page.
    needs_scores = order_field in SCORE_FIELDS or criteria.needs_scores
    conditions = _customer_conditions(workspace_id, criteria)
    if after is not None:
        value, last_id = after
        if order_field == "id":
            conditions.append(customer.c.id < last_id if descending else customer.c.id > last_id)
        else:
            position = tuple_(key, customer.c.id)
            bound = tuple_(bound_value(value, key.type), bound_value(last_id, customer.c.id.type))
            conditions.append(position < bound if descending else position > bound)
    order: list[Any] = (
        [key.desc(), customer.c.id.desc()] if descending else [key.asc(), customer.c.id.asc()]
    )
    if order_field == "id":
        order = order[1:]
    return (
        select(*CUSTOMER_COLUMNS, key.label("sort_key"))
        .select_from(_customer_from(needs_scores))
        .where(*conditions)
        .order_by(*order)
        .limit(limit)
    )


def customers_count(
    workspace_id: int | BindParameter[int], criteria: CustomerCriteria
) -> Select[Any]:
    """How many customers match ``criteria``."""
    return (
        select(func.count())
        .select_from(_customer_from(criteria.needs_scores))
        .where(*_customer_conditions(workspace_id, criteria))
    )


def customers_by_id(workspace_id: int, ids: Sequence[int]) -> Select[Any]:
    """The (unmerged) customers among ``ids``."""
    return select(*CUSTOMER_COLUMNS).where(
        customer.c.workspace_id == workspace_id,
        customer.c.id.in_(list(ids)),
        customer.c.merged_into_id.is_(None),
    )


def survivor_id(
    workspace_id: int | BindParameter[int], customer_id: int | BindParameter[int]
) -> ColumnElement[Any]:
    """The id of the customer a customer id stands for, as a scalar subquery: the customer
    itself, or the one it was merged into (at most ``MAX_MERGE_HOPS`` merges on); NULL when
    the workspace has no such customer.

    Every read that takes a customer id uses it, so a merged customer's id keeps working
    wherever a client sends it.
    """
    chain = (
        select(customer.c.id, customer.c.merged_into_id, literal_column("0").label("hops"))
        .where(customer.c.workspace_id == workspace_id, customer.c.id == customer_id)
        .cte(recursive=True)
    )
    step = customer.alias()
    chain = chain.union_all(
        select(step.c.id, step.c.merged_into_id, chain.c.hops + 1).where(
            step.c.workspace_id == workspace_id,
            step.c.id == chain.c.merged_into_id,
            chain.c.hops < MAX_MERGE_HOPS,
        )
    )
    return select(chain.c.id).where(chain.c.merged_into_id.is_(None)).limit(1).scalar_subquery()


def identities_of(workspace_id: int, customer_ids: Sequence[int]) -> Select[Any]:
    """The identities of many customers, in the order they were added."""
    return (
        select(
            identity.c.customer_id,
            identity.c.channel,
            identity.c.external_id,
            identity.c.handle,
            identity.c.following,
        )
        .where(
            identity.c.workspace_id == workspace_id,
            identity.c.customer_id.in_(list(customer_ids)),
        )
        .order_by(identity.c.customer_id, identity.c.id)
    )


def tags_of(workspace_id: int, customer_ids: Sequence[int]) -> Select[Any]:
    """``(customer_id, tag name)`` of many customers, names sorted."""
    return (
        select(customer_tag.c.customer_id, tag.c.name)
        .select_from(customer_tag.join(tag, tag.c.id == customer_tag.c.tag_id))
        .where(
            customer_tag.c.workspace_id == workspace_id,
            customer_tag.c.customer_id.in_(list(customer_ids)),
        )
        .order_by(customer_tag.c.customer_id, tag.c.name)
    )


def scores_of(workspace_id: int, customer_ids: Sequence[int]) -> Select[Any]:
    """The score rows of many customers (customers without one have none)."""
    return select(
        score.c.customer_id,
        *(score.c[name] for name in SCORE_FIELDS),
        score.c.updated_at,
    ).where(score.c.workspace_id == workspace_id, score.c.customer_id.in_(list(customer_ids)))


def _score_history_conditions(
    workspace_id: int | BindParameter[int],
    since: date | BindParameter[date] | None,
    until: date | BindParameter[date] | None,
) -> list[Any]:
    conditions: list[Any] = [score_history.c.workspace_id == workspace_id]
    if since is not None:
        conditions.append(score_history.c.day >= since)
    if until is not None:
        conditions.append(score_history.c.day <= until)
    return conditions


def score_history_page(
    workspace_id: int | BindParameter[int],
    customer_id: Any,
    since: date | BindParameter[date] | None,
    until: date | BindParameter[date] | None,
    limit: int | BindParameter[int],
) -> Select[Any]:
    """A customer's newest ``limit`` daily points between ``since`` and ``until`` (inclusive
    days), newest first. ``customer_id`` may be a column of an enclosing query."""
    return (
        select(score_history.c.day, *(score_history.c[name] for name in SCORE_FIELDS))
        .where(
            *_score_history_conditions(workspace_id, since, until),
            score_history.c.customer_id == customer_id,
        )
        .order_by(score_history.c.day.desc())
        .limit(limit)
    )


def score_history_of(
    workspace_id: int,
    customer_ids: Sequence[int],
    since: date | None,
    until: date | None,
    limit: int,
) -> Select[Any]:
    """``(customer_id, day, six scores)``: the newest ``limit`` points of each of many
    customers between ``since`` and ``until``, grouped by customer, oldest first."""
    rank = (
        func.row_number()
        .over(partition_by=score_history.c.customer_id, order_by=score_history.c.day.desc())
        .label("rank")
    )
    ranked = (
        select(
            score_history.c.customer_id,
            score_history.c.day,
            *(score_history.c[name] for name in SCORE_FIELDS),
            rank,
        )
        .where(
            *_score_history_conditions(workspace_id, since, until),
            score_history.c.customer_id.in_(list(customer_ids)),
        )
        .subquery("ranked")
    )
    return (
        select(ranked.c.customer_id, ranked.c.day, *(ranked.c[name] for name in SCORE_FIELDS))
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.customer_id, ranked.c.day)
    )


STAGE_CHANGE_COLUMNS = tuple(
    stage_change.c[name] for name in ("from_stage", "to_stage", "source", "set_by", "changed_at")
)


def stage_changes_page(
    workspace_id: int | BindParameter[int], customer_id: Any, limit: int | BindParameter[int]
) -> Select[Any]:
    """A customer's newest ``limit`` stage changes, newest first (ties: the later stored).
    ``customer_id`` may be a column of an enclosing query."""
    return (
        select(stage_change.c.id, *STAGE_CHANGE_COLUMNS)
        .where(
            stage_change.c.workspace_id == workspace_id, stage_change.c.customer_id == customer_id
        )
        .order_by(stage_change.c.changed_at.desc(), stage_change.c.id.desc())
        .limit(limit)
    )


def stage_changes_of(workspace_id: int, customer_ids: Sequence[int], limit: int) -> Select[Any]:
    """``(customer_id, from_stage, to_stage, source, set_by, changed_at)``: the newest
    ``limit`` stage changes of each of many customers, grouped by customer, newest first."""
    rank = (
        func.row_number()
        .over(
            partition_by=stage_change.c.customer_id,
            order_by=(stage_change.c.changed_at.desc(), stage_change.c.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(stage_change.c.customer_id, *STAGE_CHANGE_COLUMNS, rank)
        .where(
            stage_change.c.workspace_id == workspace_id,
            stage_change.c.customer_id.in_(list(customer_ids)),
        )
        .subquery("ranked")
    )
    return (
        select(ranked.c.customer_id, *(ranked.c[c.name] for c in STAGE_CHANGE_COLUMNS))
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.customer_id, ranked.c.rank)
    )


def referrals_of(workspace_id: int | BindParameter[int], customer_id: Any) -> Select[Any]:
    """``(customer_id, brought, purchased)`` of the customers ``customer_id`` matches (a list
    of ids, or a column of an enclosing query): how many customers each brought through
    referral edges (the newcomer is the edge's source, the referrer its target), and how
    many of those have a purchase interaction, as
    ``socialcrm.server.scoring.referrals.referral_counts`` counts them. Customers who
    brought nobody have no row."""
    edge = relationship
    source = edge.c.source_id
    bought = exists().where(interaction.c.customer_id == source, interaction.c.kind == "purchase")
    brought_here = (
        edge.c.target_id.in_(list(customer_id))
        if isinstance(customer_id, Sequence)
        else edge.c.target_id == customer_id
    )
    return (
        select(
            edge.c.target_id.label("customer_id"),
            func.count(source.distinct()).label("brought"),
            func.count(case((bought, source)).distinct()).label("purchased"),
        )
        .where(edge.c.workspace_id == workspace_id, edge.c.kind == "referral", brought_here)
        .group_by(edge.c.target_id)
    )


# -- interactions -----------------------------------------------------------------------------


def _interaction_conditions(
    workspace_id: int | BindParameter[int], criteria: InteractionCriteria
) -> list[Any]:
    conditions: list[Any] = [interaction.c.workspace_id == workspace_id]
    if criteria.channels:
        conditions.append(interaction.c.channel.in_(list(criteria.channels)))
    if criteria.kinds:
        conditions.append(interaction.c.kind.in_(list(criteria.kinds)))
    if criteria.direction is not None:
        conditions.append(interaction.c.direction == criteria.direction)
    if criteria.customer_id is not None:
        conditions.append(
            interaction.c.customer_id == survivor_id(workspace_id, criteria.customer_id)
        )
    if criteria.community_id is not None:
        conditions.append(interaction.c.community_id == criteria.community_id)
    if criteria.occurred_after is not None:
        conditions.append(interaction.c.occurred_at >= criteria.occurred_after)
    if criteria.occurred_before is not None:
        conditions.append(interaction.c.occurred_at < criteria.occurred_before)
    if criteria.languages:
        conditions.append(_language_match(interaction.c.language, criteria.languages))
    if criteria.is_complaint is not None:
        conditions.append(interaction.c.is_complaint.is_(criteria.is_complaint))
    if criteria.sentiment is not None:
        conditions += _in_range(interaction.c.sentiment, criteria.sentiment)
    return conditions


def _before(after: tuple[datetime, int] | None) -> list[Any]:
    # Newest first: the next page holds what sorts before the last item seen.
    if after is None:
        return []
    occurred_at, last_id = after
    return [
        tuple_(interaction.c.occurred_at, interaction.c.id)
        < tuple_(
            bound_value(occurred_at, UTCDateTime()), bound_value(last_id, interaction.c.id.type)
        )
    ]


def interactions_page(
    workspace_id: int | BindParameter[int],
    criteria: InteractionCriteria,
    after: tuple[datetime, int] | None,
    limit: int | BindParameter[int],
    *,
    columns: Sequence[Any] = INTERACTION_COLUMNS,
) -> Select[Any]:
    """One page of interactions, newest first (ties: highest id first)."""
    return (
        select(*columns)
        .where(*_interaction_conditions(workspace_id, criteria), *_before(after))
        .order_by(interaction.c.occurred_at.desc(), interaction.c.id.desc())
        .limit(limit)
    )


def interactions_count(
    workspace_id: int | BindParameter[int], criteria: InteractionCriteria
) -> Select[Any]:
    """How many interactions match ``criteria``."""
    return select(func.count()).where(*_interaction_conditions(workspace_id, criteria))


def interactions_of_customers(
    workspace_id: int,
    customer_ids: Sequence[int],
    criteria: InteractionCriteria,
    after: tuple[datetime, int] | None,
    limit: int,
    *,
    lateral: bool = False,
) -> Select[Any]:
    """The newest ``limit`` interactions of each of many customers, in one statement.

    Rows come grouped by customer, newest first within each. ``lateral`` (PostgreSQL)
    reads each customer's newest rows from the (customer_id, occurred_at) index and stops
    at ``limit``; otherwise ``ROW_NUMBER()`` ranks every interaction of the customers.
    """
    if lateral:
        return _latest_interactions_lateral(workspace_id, customer_ids, criteria, after, limit)
    rank = (
        func.row_number()
        .over(
            partition_by=interaction.c.customer_id,
            order_by=(interaction.c.occurred_at.desc(), interaction.c.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(*INTERACTION_COLUMNS, rank)
        .where(
            *_interaction_conditions(workspace_id, criteria),
            interaction.c.customer_id.in_(list(customer_ids)),
            *_before(after),
        )
        .subquery("ranked")
    )
    return (
        select(*(ranked.c[c.name] for c in INTERACTION_COLUMNS))
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.customer_id, ranked.c.rank)
    )


def _latest_interactions_lateral(
    workspace_id: int,
    customer_ids: Sequence[int],
    criteria: InteractionCriteria,
    after: tuple[datetime, int] | None,
    limit: int,
) -> Select[Any]:
    parent = (
        func.unnest(literal(list(customer_ids), postgresql.ARRAY(BigInteger)))
        .table_valued("id", with_ordinality="position")
        .render_derived(name="parent")
    )
    latest = (
        select(*INTERACTION_COLUMNS)
        .where(
            *_interaction_conditions(workspace_id, criteria),
            interaction.c.customer_id == parent.c.id,
            *_before(after),
        )
        .order_by(interaction.c.occurred_at.desc(), interaction.c.id.desc())
        .limit(limit)
        .lateral("latest")
    )
    return (
        select(*(latest.c[c.name] for c in INTERACTION_COLUMNS))
        .select_from(parent.join(latest, true()))
        .order_by(parent.c.position, latest.c.occurred_at.desc(), latest.c.id.desc())
    )


def interaction_counts_of_customers(
    workspace_id: int, customer_ids: Sequence[int], criteria: InteractionCriteria
) -> Select[Any]:
    """``(customer_id, count)`` of matching interactions of many customers."""
    return (
        select(interaction.c.customer_id, func.count())
        .where(
            *_interaction_conditions(workspace_id, criteria),
            interaction.c.customer_id.in_(list(customer_ids)),
        )
        .group_by(interaction.c.customer_id)
    )


def interactions_by_id(workspace_id: int, ids: Sequence[int]) -> Select[Any]:
    """The interactions among ``ids``."""
    return select(*INTERACTION_COLUMNS).where(
        interaction.c.workspace_id == workspace_id, interaction.c.id.in_(list(ids))
    )


# -- communities and memberships ---------------------------------------------------------------


def _community_conditions(
    workspace_id: int | BindParameter[int], criteria: CommunityCriteria
) -> list[Any]:
    conditions: list[Any] = [community.c.workspace_id == workspace_id]
    if criteria.search:
        conditions.append(_contains(community.c.name, criteria.search))
    if criteria.channels:
        conditions.append(_channel_match(community.c.channel, criteria.channels))
    if not criteria.include_dismissed:
        conditions.append(community.c.dismissed_at.is_(None))
    return conditions


def communities_page(
    workspace_id: int | BindParameter[int],
    criteria: CommunityCriteria,
    after: int | BindParameter[int] | None,
    limit: int | BindParameter[int],
) -> Select[Any]:
    """One page of communities, oldest first."""
    conditions = _community_conditions(workspace_id, criteria)
    if after is not None:
        conditions.append(community.c.id > after)
    return select(*COMMUNITY_COLUMNS).where(*conditions).order_by(community.c.id).limit(limit)


def communities_count(
    workspace_id: int | BindParameter[int], criteria: CommunityCriteria
) -> Select[Any]:
    """How many communities match ``criteria``."""
    return select(func.count()).where(*_community_conditions(workspace_id, criteria))


def communities_by_id(workspace_id: int, ids: Sequence[int]) -> Select[Any]:
    """The communities among ``ids``."""
    return select(*COMMUNITY_COLUMNS).where(
        community.c.workspace_id == workspace_id, community.c.id.in_(list(ids))
    )


def _ranked_memberships(
    workspace_id: int,
    parent: KeyedColumnElement[Any],
    parent_ids: Sequence[int],
    roles: Sequence[str],
    after: int | None,
) -> Any:
    conditions: list[Any] = [
        membership.c.workspace_id == workspace_id,
        parent.in_(list(parent_ids)),
    ]
    if roles:
        conditions.append(membership.c.role.in_(list(roles)))
    if after is not None:
        conditions.append(membership.c.id > after)
    rank = func.row_number().over(partition_by=parent, order_by=membership.c.id).label("rank")
    return (
        select(
            membership.c.id.label("membership_id"),
            membership.c.community_id,
            membership.c.customer_id,
            membership.c.role,
            membership.c.joined_at,
            rank,
        )
        .where(*conditions)
        .subquery("ranked")
    )


def _membership_conditions(
    workspace_id: int | BindParameter[int],
    community_id: Any,
    customer_id: Any,
    roles: Sequence[str],
) -> list[Any]:
    conditions: list[Any] = [membership.c.workspace_id == workspace_id]
    if community_id is not None:
        conditions.append(membership.c.community_id == community_id)
    if customer_id is not None:
        conditions.append(membership.c.customer_id == customer_id)
    if roles:
        conditions.append(membership.c.role.in_(list(roles)))
    return conditions


def memberships_page(
    workspace_id: int | BindParameter[int],
    *,
    community_id: Any = None,
    customer_id: Any = None,
    roles: Sequence[str] = (),
    after: int | BindParameter[int] | None = None,
    limit: int | BindParameter[int],
) -> Select[Any]:
    """One page of the memberships of a community or of a customer, oldest first.

    ``community_id`` and ``customer_id`` may be columns of an enclosing query (the compiled
    reads of ``socialcrm.resolvers.compiled`` page each parent's memberships this way).
    """
    conditions = _membership_conditions(workspace_id, community_id, customer_id, roles)
    if after is not None:
        conditions.append(membership.c.id > after)
    return (
        select(
            membership.c.id.label("membership_id"),
            membership.c.community_id,
            membership.c.customer_id,
            membership.c.role,
            membership.c.joined_at,
        )
        .where(*conditions)
        .order_by(membership.c.id)
        .limit(limit)
    )


def memberships_count(
    workspace_id: int | BindParameter[int],
    *,
    community_id: Any = None,
    customer_id: Any = None,
    roles: Sequence[str] = (),
) -> Select[Any]:
    """How many memberships a community or a customer has (with one of ``roles``)."""
    conditions = _membership_conditions(workspace_id, community_id, customer_id, roles)
    return select(func.count()).where(*conditions)


def members_of_communities(
    workspace_id: int,
    community_ids: Sequence[int],
    roles: Sequence[str],
    after: int | None,
    limit: int,
) -> Select[Any]:
    """The first ``limit`` (unmerged) members of each of many communities, with customers."""
    ranked = _ranked_memberships(
        workspace_id, membership.c.community_id, community_ids, roles, after
    )
    return (
        select(
            ranked.c.community_id,
            ranked.c.membership_id,
            ranked.c.role,
            ranked.c.joined_at,
            *CUSTOMER_COLUMNS,
        )
        .select_from(ranked.join(customer, customer.c.id == ranked.c.customer_id))
        .where(ranked.c.rank <= limit, customer.c.merged_into_id.is_(None))
        .order_by(ranked.c.community_id, ranked.c.rank)
    )


def member_counts(
    workspace_id: int, community_ids: Sequence[int], roles: Sequence[str]
) -> Select[Any]:
    """``(community_id, count)`` of the members of many communities."""
    conditions: list[Any] = [
        membership.c.workspace_id == workspace_id,
        membership.c.community_id.in_(list(community_ids)),
    ]
    if roles:
        conditions.append(membership.c.role.in_(list(roles)))
    return (
        select(membership.c.community_id, func.count())
        .where(*conditions)
        .group_by(membership.c.community_id)
    )


def communities_of_customers(
    workspace_id: int, customer_ids: Sequence[int], after: int | None, limit: int
) -> Select[Any]:
    """The first ``limit`` communities of each of many customers, with the membership."""
    ranked = _ranked_memberships(workspace_id, membership.c.customer_id, customer_ids, (), after)
    return (
        select(
            ranked.c.customer_id,
            ranked.c.membership_id,
            ranked.c.role,
            ranked.c.joined_at,
            *COMMUNITY_COLUMNS,
        )
        .select_from(ranked.join(community, community.c.id == ranked.c.community_id))
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.customer_id, ranked.c.rank)
    )


def community_counts_of_customers(workspace_id: int, customer_ids: Sequence[int]) -> Select[Any]:
    """``(customer_id, count)`` of the communities of many customers."""
    return (
        select(membership.c.customer_id, func.count())
        .where(
            membership.c.workspace_id == workspace_id,
            membership.c.customer_id.in_(list(customer_ids)),
        )
        .group_by(membership.c.customer_id)
    )


# -- workspace and accounts -------------------------------------------------------------------


def workspace_by_id(workspace_id: int) -> Select[Any]:
    """The workspace row."""
    return select(workspace.c.id, workspace.c.name, workspace.c.slug).where(
        workspace.c.id == workspace_id
    )


def channel_accounts(workspace_id: int, account_id: int | None = None) -> Select[Any]:
    """The workspace's connected accounts (or one of them), oldest first."""
    conditions: list[Any] = [channel_account.c.workspace_id == workspace_id]
    if account_id is not None:
        conditions.append(channel_account.c.id == account_id)
    return (
        select(
            channel_account.c.id,
            channel_account.c.channel,
            channel_account.c.slug,
            channel_account.c.name,
            channel_account.c.settings,
            channel_account.c.created_at,
        )
        .where(*conditions)
        .order_by(channel_account.c.id)
    )
