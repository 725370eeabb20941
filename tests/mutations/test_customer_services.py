"""The storage side of customer changes: create, update, tags, communities."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.server.communities import add_member, create_community, remove_member
from socialcrm.server.customers import create_customer, update_customer
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.tables import Customer, Membership, Tag, Workspace
from socialcrm.server.tags import clean_tag_names, customer_tags, tag_customer, untag_customer


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose transaction the test commits itself (or leaves to roll back)."""
    async with sessions() as session:
        yield session


async def test_create_customer_trims_and_defaults(session: AsyncSession, workspace: Workspace):
    assert workspace.id is not None
    customer = await create_customer(
        session, workspace.id, handle="  @lin  ", email="lin@example.cn", phone="+86 138 0000"
    )
    await session.commit()
    assert customer.id is not None
    assert customer.display_name == "@lin"
    assert customer.handle == "@lin"
    assert customer.lifecycle_stage == "exploration"
    assert customer.attributes == {}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "displayName"),
        ({"display_name": "   "}, "displayName"),
        ({"display_name": "x" * 201}, "displayName"),
        ({"display_name": "Lin", "email": "not-an-address"}, "email"),
        ({"display_name": "Lin", "phone": "call me"}, "phone"),
        ({"display_name": "Lin", "lifecycle_stage": "loyal"}, "lifecycleStage"),
        ({"display_name": "Lin", "attributes": ["a"]}, "attributes"),
        ({"display_name": "Lin", "attributes": {"x": "y" * 70_000}}, "attributes"),
    ],
)
async def test_create_customer_rejects(
    session: AsyncSession, workspace: Workspace, fields: dict, field: str
):
    assert workspace.id is not None
    with pytest.raises(ChangeRejected) as caught:
        await create_customer(session, workspace.id, **fields)
    assert caught.value.code == "INVALID"
    assert caught.value.field == field


async def test_update_customer_changes_only_given_fields(
    session: AsyncSession, workspace: Workspace
):
    assert workspace.id is not None
    customer = await create_customer(
        session, workspace.id, display_name="王芳", email="f@example.cn", attributes={"a": 1}
    )
    assert customer.id is not None
    updated, changed = await update_customer(
        session,
        workspace.id,
        customer.id,
        {"phone": "13800000000", "email": None, "attributes": {"b": 2, "a": None}},
    )
    assert changed == {"phone": "13800000000", "email": None, "attributes": {"b": 2}}
    assert updated.display_name == "王芳"
    assert updated.attributes == {"b": 2}
    _, nothing = await update_customer(session, workspace.id, customer.id, {"phone": "13800000000"})
    assert nothing == {}
    with pytest.raises(ChangeRejected) as caught:
        await update_customer(session, workspace.id, customer.id, {"display_name": ""})
    assert caught.value.code == "REQUIRED"


async def test_update_customer_of_another_workspace_is_not_found(
    session: AsyncSession, workspace: Workspace, make_workspace
):
    other = await make_workspace()
    assert workspace.id is not None and other.id is not None
    customer = await create_customer(session, other.id, display_name="B's")
    assert customer.id is not None
    with pytest.raises(ChangeRejected) as caught:
        await update_customer(session, workspace.id, customer.id, {"display_name": "mine"})
    assert caught.value.code == "NOT_FOUND"


def test_clean_tag_names():
    assert clean_tag_names([" VIP ", "vip", "VIP", "高价值"]) == ["VIP", "vip", "高价值"]
    for bad in ([""], ["  "], ["x" * 101], [f"t{i}" for i in range(101)]):
        with pytest.raises(ChangeRejected):
            clean_tag_names(bad)


async def test_tags_created_on_first_use_per_workspace(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace, make_workspace
):
    other = await make_workspace()
    assert workspace.id is not None and other.id is not None
    async with sessions() as session, session.begin():
        a = await create_customer(session, workspace.id, display_name="A")
        b = await create_customer(session, other.id, display_name="B")
    assert a.id is not None and b.id is not None
    async with sessions() as session, session.begin():
        tags, added = await tag_customer(session, workspace.id, a.id, [" VIP", "新客"])
        assert tags == sorted(["VIP", "新客"]) and added == ["VIP", "新客"]
        tags, added = await tag_customer(session, workspace.id, a.id, ["VIP", "Beijing"])
        assert added == ["Beijing"]
        await tag_customer(session, other.id, b.id, ["VIP"])
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Tag)
            .where(Tag.name == "VIP")
            .where(Tag.workspace_id.in_([workspace.id, other.id]))  # type: ignore[attr-defined]
        )
        assert count == 2
        assert await customer_tags(session, other.id, b.id) == ["VIP"]
    async with sessions() as session, session.begin():
        tags, removed = await untag_customer(session, workspace.id, a.id, ["VIP", "unknown"])
        assert removed == ["VIP"]
        assert tags == sorted(["Beijing", "新客"])
        with pytest.raises(ChangeRejected) as caught:
            await tag_customer(session, workspace.id, b.id, ["x"])
        assert caught.value.code == "NOT_FOUND"


async def test_communities_and_members(session: AsyncSession, workspace: Workspace):
    assert workspace.id is not None
    community = await create_community(
        session, workspace.id, name=" 北京车友会 ", channel="wechat", external_id="room-1"
    )
    assert community.name == "北京车友会"
    with pytest.raises(ChangeRejected) as caught:
        await create_community(
            session, workspace.id, name="again", channel="wechat", external_id="room-1"
        )
    assert caught.value.code == "DUPLICATE"
    with pytest.raises(ChangeRejected) as caught:
        await create_community(session, workspace.id, name="x", external_id="room-2")
    assert caught.value.field == "channel"
    with pytest.raises(ChangeRejected) as caught:
        await create_community(
            session, workspace.id, name="x", channel="line", known_channels={"wechat"}
        )
    assert caught.value.code == "UNKNOWN_CHANNEL"
    customer = await create_customer(session, workspace.id, display_name="Lin")
    assert customer.id is not None and community.id is not None
    first = await add_member(session, workspace.id, community.id, customer.id)
    assert first.created and first.membership.role == "member"
    again = await add_member(session, workspace.id, community.id, customer.id, "admin")
    assert not again.created and again.role_changed and again.membership.role == "admin"
    with pytest.raises(ChangeRejected) as caught:
        await add_member(session, workspace.id, community.id, customer.id, "king")
    assert caught.value.field == "role"
    await remove_member(session, workspace.id, community.id, customer.id)
    with pytest.raises(ChangeRejected) as caught:
        await remove_member(session, workspace.id, community.id, customer.id)
    assert caught.value.code == "NOT_FOUND"
    members = await session.scalar(
        select(func.count()).select_from(Membership).where(Membership.community_id == community.id)
    )
    assert members == 0
    hidden = await session.get(Customer, customer.id)
    assert hidden is not None


async def test_same_new_tag_from_two_requests_at_once(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
):
    assert workspace.id is not None
    async with sessions() as session, session.begin():
        a = await create_customer(session, workspace.id, display_name="A")
        b = await create_customer(session, workspace.id, display_name="B")
    assert a.id is not None and b.id is not None

    async def tag(customer_id: int) -> list[str]:
        async with sessions() as session, session.begin():
            tags, _ = await tag_customer(session, workspace.id, customer_id, ["双十一"])
            return tags

    assert await asyncio.gather(tag(a.id), tag(b.id)) == [["双十一"], ["双十一"]]
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Tag)
            .where(Tag.workspace_id == workspace.id, Tag.name == "双十一")
        )
    assert count == 1
