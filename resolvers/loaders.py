"""Per-request DataLoaders: every field of every item in a page is fetched in one statement.

A page of 50 customers asking for identities, tags, scores and the latest interactions runs
one statement for each of those, whatever the page size. Loaders of pages of children
(``customer.interactions(first: 5)``) take ``(parent id, criteria, after, limit)`` keys and
run one statement per distinct ``(criteria, after, limit)``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from datetime import date, datetime
from functools import cached_property
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from socialcrm.resolvers.context import Reader
from socialcrm.schema.community import Community
from socialcrm.schema.customer import (
    MAX_SCORE_HISTORY_POINTS,
    MAX_STAGE_CHANGES,
    NO_REFERRALS,
    NO_SCORES,
    Customer,
    Identity,
    Referrals,
    ScorePoint,
    Scores,
    StageChange,
)
from socialcrm.schema.enums import LifecycleStage, StageChangeSource, enum_of
from socialcrm.schema.interaction import Interaction
from socialcrm.server import read
from socialcrm.server.read import CustomerCriteria, InteractionCriteria

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

InteractionPageKey = tuple[int, InteractionCriteria, tuple[datetime, int] | None, int]
"""(customer id, criteria, after (occurred_at, id), limit)."""
MemberPageKey = tuple[int, tuple[str, ...], int | None, int]
"""(community id, roles, after membership id, limit)."""
MembershipPageKey = tuple[int, int | None, int]
"""(customer id, after membership id, limit)."""
ScoreHistoryKey = tuple[int, date | None, date | None]
"""(customer id, first day, last day)."""


class Membership:
    """A membership row with the object on its other side (a customer or a community)."""

    __slots__ = ("joined_at", "membership_id", "node", "role")

    def __init__(self, membership_id: int, role: str, joined_at: datetime, node: Any) -> None:
        self.membership_id = membership_id
        self.role = role
        self.joined_at = joined_at
        self.node = node


def _grouped(
    keys: Sequence[K], rows: Sequence[Any], key_of: Callable[[Any], K], value_of: Callable[[Any], V]
) -> list[list[V]]:
    found: dict[K, list[V]] = defaultdict(list)
    for row in rows:
        found[key_of(row)].append(value_of(row))
    return [found.get(key, []) for key in keys]


def _by_spec(keys: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[int]]:
    # Keys that differ only in their parent id share one statement.
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for key in keys:
        groups[key[1:]].append(key[0])
    return groups


class Loaders:
    """The DataLoaders of one request, each made on first use."""

    def __init__(self, db: Reader, workspace_id: int, *, cache: bool = True) -> None:
        self.db = db
        self.workspace_id = workspace_id
        self.cache = cache

    def _loader(self, load: Callable[[list[Any]], Any]) -> DataLoader[Any, Any]:
        return DataLoader(load_fn=load, cache=self.cache)

    # -- objects by id ---------------------------------------------------------------------

    @cached_property
    def customers(self) -> DataLoader[int, Customer | None]:
        """Unmerged customers by primary key."""
        return self._loader(self._customers)

    async def _customers(self, ids: list[int]) -> list[Customer | None]:
        rows = await self.db.all(read.customers_by_id(self.workspace_id, ids))
        found = {row.id: Customer.from_row(row) for row in rows}
        return [found.get(pk) for pk in ids]

    @cached_property
    def communities(self) -> DataLoader[int, Community | None]:
        """Communities by primary key."""
        return self._loader(self._communities)

    async def _communities(self, ids: list[int]) -> list[Community | None]:
        rows = await self.db.all(read.communities_by_id(self.workspace_id, ids))
        found = {row.id: Community.from_row(row) for row in rows}
        return [found.get(pk) for pk in ids]

    @cached_property
    def interactions(self) -> DataLoader[int, Interaction | None]:
        """Interactions by primary key."""
        return self._loader(self._interactions)

    async def _interactions(self, ids: list[int]) -> list[Interaction | None]:
        rows = await self.db.all(read.interactions_by_id(self.workspace_id, ids))
        found = {row[0]: Interaction.from_read_row(row) for row in rows}
        return [found.get(pk) for pk in ids]

    # -- a customer's details ------------------------------------------------------------------

    @cached_property
    def identities(self) -> DataLoader[int, list[Identity]]:
        """A customer's identities."""
        return self._loader(self._identities)

    async def _identities(self, customer_ids: list[int]) -> list[list[Identity]]:
        rows = await self.db.all(read.identities_of(self.workspace_id, customer_ids))
        return _grouped(
            customer_ids,
            rows,
            lambda row: row[0],
            lambda row: Identity(
                channel=row[1], external_id=row[2], handle=row[3], following=row[4]
            ),
        )

    @cached_property
    def tags(self) -> DataLoader[int, list[str]]:
        """A customer's tag names."""
        return self._loader(self._tags)

    async def _tags(self, customer_ids: list[int]) -> list[list[str]]:
        rows = await self.db.all(read.tags_of(self.workspace_id, customer_ids))
        return _grouped(customer_ids, rows, lambda row: row[0], lambda row: row[1])

    @cached_property
    def scores(self) -> DataLoader[int, Scores]:
        """A customer's scores (zeros when none were computed)."""
        return self._loader(self._scores)

    async def _scores(self, customer_ids: list[int]) -> list[Scores]:
        rows = await self.db.all(read.scores_of(self.workspace_id, customer_ids))
        found = {
            row[0]: Scores(
                engagement=row[1],
                influence=row[2],
                sentiment=row[3],
                value=row[4],
                social_value=row[5],
                churn_risk=row[6],
                updated_at=row[7],
            )
            for row in rows
        }
        return [found.get(pk, NO_SCORES) for pk in customer_ids]

    @cached_property
    def score_history(self) -> DataLoader[ScoreHistoryKey, list[ScorePoint]]:
        """A customer's daily score points between two days, oldest first (the newest
        ``MAX_SCORE_HISTORY_POINTS`` when more match)."""
        return self._loader(self._score_history)

    async def _score_history(self, keys: list[ScoreHistoryKey]) -> list[list[ScorePoint]]:
        found: dict[ScoreHistoryKey, list[ScorePoint]] = defaultdict(list)
        for (since, until), customer_ids in _by_spec(keys).items():
            statement = read.score_history_of(
                self.workspace_id, customer_ids, since, until, MAX_SCORE_HISTORY_POINTS
            )
            for row in await self.db.all(statement):
                found[(row.customer_id, since, until)].append(
                    ScorePoint(
                        day=row.day,
                        engagement=row.engagement,
                        influence=row.influence,
                        sentiment=row.sentiment,
                        value=row.value,
                        social_value=row.social_value,
                        churn_risk=row.churn_risk,
                    )
                )
        return [found.get(key, []) for key in keys]

    @cached_property
    def stage_history(self) -> DataLoader[int, list[StageChange]]:
        """A customer's newest ``MAX_STAGE_CHANGES`` stage changes, newest first."""
        return self._loader(self._stage_history)

    async def _stage_history(self, customer_ids: list[int]) -> list[list[StageChange]]:
        statement = read.stage_changes_of(self.workspace_id, customer_ids, MAX_STAGE_CHANGES)
        rows = await self.db.all(statement)
        return _grouped(customer_ids, rows, lambda row: row.customer_id, stage_change_of)

    @cached_property
    def referrals(self) -> DataLoader[int, Referrals]:
        """Whom a customer brought through referrals, and how many of them purchased."""
        return self._loader(self._referrals)

    async def _referrals(self, customer_ids: list[int]) -> list[Referrals]:
        rows = await self.db.all(read.referrals_of(self.workspace_id, customer_ids))
        found = {
            row.customer_id: Referrals(brought=row.brought, purchased=row.purchased) for row in rows
        }
        return [found.get(pk, NO_REFERRALS) for pk in customer_ids]

    # -- pages of children -----------------------------------------------------------------------

    @cached_property
    def customer_interactions(self) -> DataLoader[InteractionPageKey, list[Interaction]]:
        """A page of a customer's interactions (newest first)."""
        return self._loader(self._customer_interactions)

    async def _customer_interactions(
        self, keys: list[InteractionPageKey]
    ) -> list[list[Interaction]]:
        found: dict[InteractionPageKey, list[Interaction]] = defaultdict(list)
        for (criteria, after, limit), customer_ids in _by_spec(keys).items():
            statement = read.interactions_of_customers(
                self.workspace_id,
                customer_ids,
                criteria,
                after,
                limit,
                lateral=self.db.on_postgresql,
            )
            for row in await self.db.all(statement):
                item = Interaction.from_read_row(row)
                found[(item.customer_pk, criteria, after, limit)].append(item)
        return [found.get(key, []) for key in keys]

    @cached_property
    def customer_interaction_counts(self) -> DataLoader[tuple[int, InteractionCriteria], int]:
        """How many interactions of a customer match the criteria."""
        return self._loader(self._customer_interaction_counts)

    async def _customer_interaction_counts(
        self, keys: list[tuple[int, InteractionCriteria]]
    ) -> list[int]:
        found: dict[tuple[int, InteractionCriteria], int] = {}
        for (criteria,), customer_ids in _by_spec(keys).items():
            statement = read.interaction_counts_of_customers(
                self.workspace_id, customer_ids, criteria
            )
            for customer_id, count in await self.db.all(statement):
                found[(customer_id, criteria)] = count
        return [found.get(key, 0) for key in keys]

    @cached_property
    def community_members(self) -> DataLoader[MemberPageKey, list[Membership]]:
        """A page of a community's members (in the order they joined)."""
        return self._loader(self._community_members)

    async def _community_members(self, keys: list[MemberPageKey]) -> list[list[Membership]]:
        found: dict[MemberPageKey, list[Membership]] = defaultdict(list)
        for (roles, after, limit), community_ids in _by_spec(keys).items():
            statement = read.members_of_communities(
                self.workspace_id, community_ids, roles, after, limit
            )
            for row in await self.db.all(statement):
                found[(row.community_id, roles, after, limit)].append(
                    Membership(row.membership_id, row.role, row.joined_at, Customer.from_row(row))
                )
        return [found.get(key, []) for key in keys]

    @cached_property
    def member_counts(self) -> DataLoader[tuple[int, tuple[str, ...]], int]:
        """How many members (with the given roles) a community has."""
        return self._loader(self._member_counts)

    async def _member_counts(self, keys: list[tuple[int, tuple[str, ...]]]) -> list[int]:
        found: dict[tuple[int, tuple[str, ...]], int] = {}
        for (roles,), community_ids in _by_spec(keys).items():
            statement = read.member_counts(self.workspace_id, community_ids, roles)
            for community_id, count in await self.db.all(statement):
                found[(community_id, roles)] = count
        return [found.get(key, 0) for key in keys]

    @cached_property
    def customer_communities(self) -> DataLoader[MembershipPageKey, list[Membership]]:
        """A page of the communities a customer belongs to."""
        return self._loader(self._customer_communities)

    async def _customer_communities(self, keys: list[MembershipPageKey]) -> list[list[Membership]]:
        found: dict[MembershipPageKey, list[Membership]] = defaultdict(list)
        for (after, limit), customer_ids in _by_spec(keys).items():
            statement = read.communities_of_customers(self.workspace_id, customer_ids, after, limit)
            for row in await self.db.all(statement):
                found[(row.customer_id, after, limit)].append(
                    Membership(row.membership_id, row.role, row.joined_at, Community.from_row(row))
                )
        return [found.get(key, []) for key in keys]

    @cached_property
    def community_counts(self) -> DataLoader[int, int]:
        """How many communities a customer belongs to."""
        return self._loader(self._community_counts)

    async def _community_counts(self, customer_ids: list[int]) -> list[int]:
        rows = await self.db.all(
            read.community_counts_of_customers(self.workspace_id, customer_ids)
        )
        found = {customer_id: count for customer_id, count in rows}
        return [found.get(pk, 0) for pk in customer_ids]


def stage_change_of(row: Any) -> StageChange:
    """A StageChange of a row with ``read.STAGE_CHANGE_COLUMNS``' names."""
    return StageChange(
        from_stage=(
            enum_of(LifecycleStage, row.from_stage, LifecycleStage.EXPLORATION)
            if row.from_stage is not None
            else None
        ),
        to_stage=enum_of(LifecycleStage, row.to_stage, LifecycleStage.EXPLORATION),
        source=enum_of(StageChangeSource, row.source, StageChangeSource.RULE),
        set_by=row.set_by,
        changed_at=row.changed_at,
    )


__all__ = ["CustomerCriteria", "InteractionCriteria", "Loaders", "Membership"]
