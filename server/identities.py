"""Identity resolution: which customer an identity (and its aliases) belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from socialcrm.plugins.models import IdentityRef, Profile
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import Customer, CustomerTag, Identity, Tag


@dataclass(slots=True)
class Resolution:
    """The customer an identity resolved to and what changed on the way."""

    customer: Customer
    created: bool
    changed_fields: dict[str, object] = field(default_factory=dict)
    followed: bool | None = None
    """True/False when the identity's follow state flipped; None when it did not."""


async def identity_known(session: AsyncSession, workspace_id: int, ref: IdentityRef) -> bool:
    """True when the workspace has seen ``ref`` before."""
    found = await session.scalar(
        select(col(Identity.id)).where(
            col(Identity.workspace_id) == workspace_id,
            col(Identity.channel) == ref.channel,
            col(Identity.external_id) == ref.external_id,
        )
    )
    return found is not None


async def resolve_customer(
    session: AsyncSession,
    workspace_id: int,
    ref: IdentityRef,
    *,
    profile: Profile | None = None,
    account_id: int | None = None,
    seen_at: datetime | None = None,
) -> Resolution:
    """Find or create the customer of ``ref`` and apply ``profile`` to it.

    The identity and its aliases are looked up together: an alias already known (a WeChat
    unionid seen on another official account) joins ``ref`` to that customer. Missing
    identities are created. Runs in the caller's transaction; a concurrent insert of the same
    identity raises ``IntegrityError`` and the caller retries.
    """
    keys = [ref, *(profile.aliases if profile else [])]
    rows = (
        (
            await session.execute(
                select(Identity).where(
                    col(Identity.workspace_id) == workspace_id,
                    or_(
                        *(
                            and_(
                                col(Identity.channel) == k.channel,
                                col(Identity.external_id) == k.external_id,
                            )
                            for k in keys
                        )
                    ),
                )
            )
        )
        .scalars()
        .all()
    )
    by_key = {(row.channel, row.external_id): row for row in rows}
    own = by_key.get((ref.channel, ref.external_id))
    customer: Customer | None = None
    if own is not None:
        customer = await _survivor(session, own.customer_id)
    else:
        # Join through the oldest customer an alias points to, if any.
        for alias in sorted(rows, key=lambda r: r.customer_id):
            customer = await _survivor(session, alias.customer_id)
            break
    created = customer is None
    if customer is None:
        customer = Customer(
            workspace_id=workspace_id,
            display_name=(profile.display_name if profile else None) or ref.handle or "",
            handle=ref.handle,
        )
        session.add(customer)
        await session.flush()
    assert customer.id is not None
    now = utcnow()
    for key in keys:
        row = by_key.get((key.channel, key.external_id))
        if row is None:
            row = Identity(
                workspace_id=workspace_id,
                customer_id=customer.id,
                channel=key.channel,
                external_id=key.external_id,
                handle=key.handle,
                account_id=account_id if key is ref else None,
            )
            session.add(row)
            by_key[(key.channel, key.external_id)] = row
        elif row.customer_id != customer.id:
            continue  # owned by another customer: joining the two is a merge, not ours to do
        elif key.handle and row.handle != key.handle:
            row.handle = key.handle
            row.updated_at = now
    resolution = Resolution(customer=customer, created=created)
    identity = by_key[(ref.channel, ref.external_id)]
    if profile is not None:
        _apply_profile(customer, identity, profile, resolution)
        if profile.tags:
            await _add_platform_tags(session, workspace_id, customer.id, profile.tags)
    if ref.handle and not customer.handle:
        customer.handle = ref.handle
        resolution.changed_fields["handle"] = ref.handle
    if not customer.display_name and (ref.handle or ref.external_id):
        customer.display_name = ref.handle or ref.external_id
        resolution.changed_fields["display_name"] = customer.display_name
    if seen_at is not None and (customer.last_seen_at is None or seen_at > customer.last_seen_at):
        customer.last_seen_at = seen_at
    if resolution.changed_fields:
        customer.updated_at = now
    await session.flush()
    return resolution


async def _survivor(session: AsyncSession, customer_id: int) -> Customer:
    """The customer itself, or the one it was merged into."""
    customer = await session.get(Customer, customer_id)
    seen = set()
    while customer is not None and customer.merged_into_id is not None:
        if customer.id in seen:
            break
        seen.add(customer.id)
        customer = await session.get(Customer, customer.merged_into_id)
    if customer is None:
        raise LookupError(f"customer {customer_id} vanished during identity resolution")
    return customer


def _apply_profile(
    customer: Customer, identity: Identity, profile: Profile, resolution: Resolution
) -> None:
    for name in ("display_name", "avatar_url", "language", "location", "email", "phone"):
        value = getattr(profile, name)
        if value is not None and value != "" and getattr(customer, name) != value:
            setattr(customer, name, value)
            resolution.changed_fields[name] = value
    if profile.following is not None and identity.following != profile.following:
        if identity.following is not None or profile.following:
            resolution.followed = profile.following
        identity.following = profile.following
    facts = dict(identity.profile)
    if profile.followers_count is not None:
        facts["followers_count"] = profile.followers_count
    facts.update(profile.extra)
    if facts != identity.profile:
        identity.profile = facts
        identity.updated_at = utcnow()


async def _add_platform_tags(
    session: AsyncSession, workspace_id: int, customer_id: int, names: list[str]
) -> None:
    for name in {n.strip() for n in names if n and n.strip()}:
        tag = await session.scalar(
            select(Tag).where(col(Tag.workspace_id) == workspace_id, col(Tag.name) == name)
        )
        if tag is None:
            tag = Tag(workspace_id=workspace_id, name=name)
            session.add(tag)
            await session.flush()
        assert tag.id is not None
        if await session.get(CustomerTag, (customer_id, tag.id)) is None:
            session.add(
                CustomerTag(customer_id=customer_id, tag_id=tag.id, workspace_id=workspace_id)
            )
