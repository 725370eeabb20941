"""Customers changed by operators: create, update and merge.

Every function runs in the caller's transaction and raises ``ChangeRejected`` for an expected
failure (an unknown id, an invalid value); the caller rolls back, so a rejected change leaves
nothing behind. Observer hooks run after commit, through ``customer_changes``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from socialcrm.plugins.models import CustomerChange, MemberRole
from socialcrm.server import read
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import (
    Customer,
    CustomerMerge,
    CustomerTag,
    Identity,
    Interaction,
    Membership,
    ReferralCode,
    Relationship,
    Score,
)

LIFECYCLE_STAGES: tuple[str, ...] = ("exploration", "formation", "stability", "decline")
"""Exploration (new) → formation (repeat) → stability (loyal) → decline."""

MAX_ATTRIBUTES_BYTES = 64_000
"""The largest ``attributes`` document a customer may carry, as JSON."""

# A customer's text fields and their column limits.
TEXT_LIMITS: dict[str, int] = {
    "display_name": 200,
    "handle": 200,
    "email": 320,
    "phone": 64,
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9()\-.\s]{3,64}$")

# The higher role wins when two memberships of one community meet in a merge: an admin's
# rights outrank an opinion leader's influence, which outranks plain membership.
ROLE_RANK: dict[str, int] = {
    MemberRole.MEMBER.value: 0,
    MemberRole.OPINION_LEADER.value: 1,
    MemberRole.ADMIN.value: 2,
}

# Profile fields the survivor of a merge takes from the merged customer when it lacks them.
_FILLABLE = ("display_name", "handle", "email", "phone", "avatar_url", "language", "location")


@dataclass(slots=True)
class MergeResult:
    """What a merge did: the survivor, the record of the merge and what moved."""

    survivor: Customer
    merge: CustomerMerge
    moved: dict[str, int] = field(default_factory=dict)


async def get_customer(
    session: AsyncSession,
    workspace_id: int,
    customer_id: int,
    *,
    lock: bool = False,
    field_name: str = "id",
) -> Customer:
    """The workspace's customer ``customer_id``, or ``ChangeRejected`` NOT_FOUND.

    The id of a merged customer answers the customer it was merged into (as queries do), so
    a client holding an old id changes the surviving profile. ``lock`` takes a row lock
    (``FOR NO KEY UPDATE``: rows pointing at the customer can still be inserted) so that a
    concurrent merge cannot move the customer away meanwhile.
    """
    current = customer_id
    # Twice: a merge that commits between finding the survivor and reading it moves it on.
    for _ in range(2):
        survivor = await session.scalar(select(read.survivor_id(workspace_id, current)))
        if survivor is None:
            break
        query = select(Customer).where(
            col(Customer.workspace_id) == workspace_id, col(Customer.id) == survivor
        )
        if lock:
            # Re-read after the lock is granted: a merge may have committed meanwhile.
            query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
        customer = (await session.execute(query)).scalar_one_or_none()
        if customer is None:
            break
        if customer.merged_into_id is None:
            return customer
        current = survivor
    raise ChangeRejected("no such customer", code="NOT_FOUND", field=field_name)


def _clean_text(name: str, value: Any) -> str | None:
    """Trim a text field and check it against its limits and format."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ChangeRejected(f"{name} must be text", code="INVALID", field=name)
    text = value.strip()
    if len(text) > TEXT_LIMITS[name]:
        raise ChangeRejected(
            f"{name} is longer than {TEXT_LIMITS[name]} characters", code="INVALID", field=name
        )
    if not text:
        return None
    if name == "email" and not _EMAIL.match(text):
        raise ChangeRejected(f"{text!r} is not an email address", code="INVALID", field=name)
    if name == "phone" and not _PHONE.match(text):
        raise ChangeRejected(f"{text!r} is not a phone number", code="INVALID", field=name)
    return text


def _check_stage(stage: Any) -> str:
    if stage not in LIFECYCLE_STAGES:
        raise ChangeRejected(
            f"lifecycle stage must be one of {', '.join(LIFECYCLE_STAGES)}",
            code="INVALID",
            field="lifecycleStage",
        )
    return str(stage)


def _check_attributes(attributes: Any) -> dict[str, Any]:
    if not isinstance(attributes, dict):
        raise ChangeRejected("attributes must be a JSON object", code="INVALID", field="attributes")
    try:
        size = len(json.dumps(attributes, ensure_ascii=False).encode())
    except (TypeError, ValueError) as exc:
        raise ChangeRejected(
            f"attributes are not JSON: {exc}", code="INVALID", field="attributes"
        ) from exc
    if size > MAX_ATTRIBUTES_BYTES:
        raise ChangeRejected(
            f"attributes exceed {MAX_ATTRIBUTES_BYTES} bytes", code="INVALID", field="attributes"
        )
    return attributes


_FIELD_NAMES = {"display_name": "displayName"}


def _api_field(name: str) -> str:
    return _FIELD_NAMES.get(name, name)


async def create_customer(
    session: AsyncSession,
    workspace_id: int,
    *,
    display_name: str | None = None,
    handle: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    lifecycle_stage: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> Customer:
    """Create a customer by hand; at least one of name, handle, email or phone is needed.

    Without a display name, the handle, email or phone (in that order) stands in for it.
    Tags are added separately (``socialcrm.server.tags.tag_customer``).
    """
    values: dict[str, str | None] = {}
    for name, value in (
        ("display_name", display_name),
        ("handle", handle),
        ("email", email),
        ("phone", phone),
    ):
        try:
            values[name] = _clean_text(name, value)
        except ChangeRejected as exc:
            exc.field = _api_field(name)
            raise
    shown = values["display_name"] or values["handle"] or values["email"] or values["phone"]
    if not shown:
        raise ChangeRejected(
            "give at least a display name, handle, email or phone",
            code="INVALID",
            field="displayName",
        )
    customer = Customer(
        workspace_id=workspace_id,
        display_name=shown,
        handle=values["handle"],
        email=values["email"],
        phone=values["phone"],
        lifecycle_stage=_check_stage(lifecycle_stage) if lifecycle_stage else "exploration",
        attributes=_check_attributes(attributes) if attributes is not None else {},
    )
    session.add(customer)
    await session.flush()
    return customer


async def update_customer(
    session: AsyncSession, workspace_id: int, customer_id: int, changes: Mapping[str, Any]
) -> tuple[Customer, dict[str, Any]]:
    """Apply ``changes`` (only the keys given) to a customer; returns it and what changed.

    Keys: display_name, handle, email, phone (None clears all but display_name),
    lifecycle_stage, attributes (merged key by key into the stored ones; a None value
    removes that key).
    """
    unknown = set(changes) - {*TEXT_LIMITS, "lifecycle_stage", "attributes"}
    if unknown:
        raise ValueError(f"unknown customer fields: {', '.join(sorted(unknown))}")
    customer = await get_customer(session, workspace_id, customer_id, lock=True)
    changed: dict[str, Any] = {}
    for name in TEXT_LIMITS:
        if name not in changes:
            continue
        try:
            value = _clean_text(name, changes[name])
        except ChangeRejected as exc:
            exc.field = _api_field(name)
            raise
        if name == "display_name" and not value:
            raise ChangeRejected(
                "displayName cannot be empty", code="REQUIRED", field="displayName"
            )
        if getattr(customer, name) != value:
            setattr(customer, name, value)
            changed[name] = value
    if changes.get("lifecycle_stage") is not None:
        stage = _check_stage(changes["lifecycle_stage"])
        if customer.lifecycle_stage != stage:
            customer.lifecycle_stage = stage
            changed["lifecycle_stage"] = stage
    if changes.get("attributes") is not None:
        patch = _check_attributes(changes["attributes"])
        merged = {**customer.attributes, **patch}
        merged = {k: v for k, v in merged.items() if v is not None}
        _check_attributes(merged)
        if merged != customer.attributes:
            customer.attributes = merged
            changed["attributes"] = merged
    if changed:
        customer.updated_at = utcnow()
        await session.flush()
    return customer, changed


def _row_snapshot(customer: Customer) -> dict[str, Any]:
    """A customer's fields as JSON (the record a merge keeps)."""
    return customer.model_dump(mode="json")


async def merge_customers(
    session: AsyncSession, workspace_id: int, survivor_id: int, merged_id: int
) -> MergeResult:
    """Merge customer ``merged_id`` into ``survivor_id``, in the caller's transaction.

    Identities, interactions, memberships, relationships, tags, referral codes and the score
    move to the survivor; the survivor keeps its own values and takes the merged customer's
    where it has none. The merged customer is marked ``merged_into_id`` (hidden from then on)
    and a ``CustomerMerge`` row records what it was and what moved.
    """
    # The survivor may be given by a merged customer's id, as anywhere a customer id is
    # taken. The merged one may not: following it would merge the whole surviving profile.
    found = await get_customer(session, workspace_id, survivor_id, field_name="survivorId")
    assert found.id is not None
    survivor_id = found.id
    if survivor_id == merged_id:
        raise ChangeRejected(
            "a customer cannot be merged into itself", code="CONFLICT", field="mergedId"
        )
    # Lock both rows in id order, so two opposite merges cannot deadlock.
    rows = (
        (
            await session.execute(
                select(Customer)
                .where(
                    col(Customer.workspace_id) == workspace_id,
                    col(Customer.id).in_([survivor_id, merged_id]),
                )
                .order_by(col(Customer.id))
                .with_for_update()
                # Re-read once locked: the survivor was read above, a merge may have committed.
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    by_id = {row.id: row for row in rows}
    survivor, merged = by_id.get(survivor_id), by_id.get(merged_id)
    for customer, name in ((survivor, "survivorId"), (merged, "mergedId")):
        if customer is None:
            raise ChangeRejected("no such customer", code="NOT_FOUND", field=name)
        if customer.merged_into_id is not None:
            raise ChangeRejected(
                "the customer was already merged into another",
                code="CONFLICT",
                field=name,
            )
    assert survivor is not None and merged is not None
    snapshot = _row_snapshot(merged)
    moved: dict[str, int] = {}
    ws = workspace_id

    moved["identities"] = await _repoint(
        session, Identity, Identity.customer_id, ws, merged_id, survivor_id
    )
    moved["interactions"] = await _repoint(
        session, Interaction, Interaction.customer_id, ws, merged_id, survivor_id
    )
    moved["memberships"] = await _merge_memberships(session, ws, survivor_id, merged_id)
    moved["relationships"] = await _merge_relationships(session, ws, survivor_id, merged_id)
    moved["tags"] = await _merge_tags(session, ws, survivor_id, merged_id)
    moved["referral_codes"] = await _repoint(
        session, ReferralCode, ReferralCode.customer_id, ws, merged_id, survivor_id
    )
    moved["score"] = await _merge_score(session, ws, survivor_id, merged_id)
    # Customers merged earlier into the merged one now point at the survivor: one hop only.
    await session.execute(
        update(Customer)
        .where(col(Customer.workspace_id) == ws, col(Customer.merged_into_id) == merged_id)
        .values(merged_into_id=survivor_id)
    )

    taken: dict[str, Any] = {}
    for name in _FILLABLE:
        value = getattr(merged, name)
        if value and not getattr(survivor, name):
            setattr(survivor, name, value)
            taken[name] = value
    missing = {k: v for k, v in merged.attributes.items() if k not in survivor.attributes}
    if missing:
        survivor.attributes = {**survivor.attributes, **missing}
        taken["attributes"] = sorted(missing)
    if merged.last_seen_at is not None and (
        survivor.last_seen_at is None or merged.last_seen_at > survivor.last_seen_at
    ):
        survivor.last_seen_at = merged.last_seen_at
    # The person has been known since the earlier of the two records.
    survivor.created_at = min(survivor.created_at, merged.created_at)
    now = utcnow()
    survivor.updated_at = now
    merged.merged_into_id = survivor_id
    merged.updated_at = now
    record = CustomerMerge(
        workspace_id=ws,
        survivor_id=survivor_id,
        merged_id=merged_id,
        snapshot={"customer": snapshot, "moved": moved, "taken": taken},
    )
    session.add(record)
    await session.flush()
    return MergeResult(survivor=survivor, merge=record, moved=moved)


async def _repoint(
    session: AsyncSession,
    table: Any,
    column: Any,
    workspace_id: int,
    merged_id: int,
    survivor_id: int,
) -> int:
    result = await session.execute(
        update(table)
        .where(table.workspace_id == workspace_id, column == merged_id)
        .values({column.key: survivor_id})
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _merge_memberships(
    session: AsyncSession, workspace_id: int, survivor_id: int, merged_id: int
) -> int:
    """Move memberships; a community both belong to keeps one, with the higher role."""
    rows = (
        (
            await session.execute(
                select(Membership).where(
                    col(Membership.workspace_id) == workspace_id,
                    col(Membership.customer_id).in_([survivor_id, merged_id]),
                )
            )
        )
        .scalars()
        .all()
    )
    kept = {row.community_id: row for row in rows if row.customer_id == survivor_id}
    moved = 0
    for row in rows:
        if row.customer_id != merged_id:
            continue
        own = kept.get(row.community_id)
        if own is None:
            row.customer_id = survivor_id
        else:
            if ROLE_RANK.get(row.role, 0) > ROLE_RANK.get(own.role, 0):
                own.role = row.role
            own.joined_at = min(own.joined_at, row.joined_at)
            await session.delete(row)
        moved += 1
    # Deletes first, so no moved row ever meets the one it replaces under the unique key.
    await session.flush()
    return moved


async def _merge_relationships(
    session: AsyncSession, workspace_id: int, survivor_id: int, merged_id: int
) -> int:
    """Re-point edges of the merged customer: self-edges go, duplicates add their counts."""
    pair = [survivor_id, merged_id]
    rows = (
        (
            await session.execute(
                select(Relationship).where(
                    col(Relationship.workspace_id) == workspace_id,
                    or_(
                        col(Relationship.source_id).in_(pair),
                        col(Relationship.target_id).in_(pair),
                    ),
                )
            )
        )
        .scalars()
        .all()
    )
    # Edges that already belong to the survivor keep their rows; others join them.
    by_key: dict[tuple[int, int, str], Relationship] = {
        (r.source_id, r.target_id, r.kind): r
        for r in rows
        if merged_id not in (r.source_id, r.target_id)
    }
    doomed: list[Relationship] = []
    repointed: list[tuple[Relationship, int, int]] = []
    for row in sorted(rows, key=lambda r: r.id or 0):
        if merged_id not in (row.source_id, row.target_id):
            continue
        source = survivor_id if row.source_id == merged_id else row.source_id
        target = survivor_id if row.target_id == merged_id else row.target_id
        if source == target:
            doomed.append(row)  # the person talking to themselves: no edge
            continue
        key = (source, target, row.kind)
        into = by_key.get(key)
        if into is None:
            by_key[key] = row
            repointed.append((row, source, target))
        else:
            into.count += row.count
            into.first_at = min(into.first_at, row.first_at)
            into.last_at = max(into.last_at, row.last_at)
            doomed.append(row)
    for row in doomed:
        await session.delete(row)
    # Delete before re-pointing: no moved edge meets a doomed one under the unique key.
    await session.flush()
    for row, source, target in repointed:
        row.source_id, row.target_id = source, target
    await session.flush()
    return len(doomed) + len(repointed)


async def _merge_tags(
    session: AsyncSession, workspace_id: int, survivor_id: int, merged_id: int
) -> int:
    """The survivor gets the union of both customers' tags."""
    has = select(col(CustomerTag.tag_id)).where(col(CustomerTag.customer_id) == survivor_id)
    result = await session.execute(
        update(CustomerTag)
        .where(
            col(CustomerTag.workspace_id) == workspace_id,
            col(CustomerTag.customer_id) == merged_id,
            col(CustomerTag.tag_id).not_in(has.scalar_subquery()),
        )
        .values(customer_id=survivor_id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(CustomerTag).where(
            col(CustomerTag.workspace_id) == workspace_id, col(CustomerTag.customer_id) == merged_id
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _merge_score(
    session: AsyncSession, workspace_id: int, survivor_id: int, merged_id: int
) -> int:
    """The survivor keeps its score row; it takes the merged one's only when it has none."""
    scores = {
        row.customer_id: row
        for row in (
            await session.execute(
                select(Score).where(
                    col(Score.workspace_id) == workspace_id,
                    col(Score.customer_id).in_([survivor_id, merged_id]),
                )
            )
        ).scalars()
    }
    if merged_id not in scores:
        return 0
    if survivor_id in scores:
        await session.delete(scores[merged_id])
        await session.flush()
        return 0
    # The primary key moves, so update in SQL rather than through the identity map.
    await session.execute(
        update(Score)
        .where(col(Score.customer_id) == merged_id)
        .values(customer_id=survivor_id)
        .execution_options(synchronize_session=False)
    )
    session.expunge(scores[merged_id])
    return 1


def customer_change(
    customer: Customer, change: str, fields: Mapping[str, Any] | None = None
) -> CustomerChange:
    """The observer event for ``customer`` (after commit)."""
    assert customer.id is not None
    return CustomerChange(
        workspace_id=customer.workspace_id,
        customer_id=customer.id,
        change=change,
        fields=_json_safe(dict(fields or {})),
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
