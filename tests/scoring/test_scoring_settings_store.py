"""A workspace's scoring settings: stored as overrides of the defaults, checked field by field."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.server.scoring.settings import (
    DEFAULTS,
    ScoringSettingsError,
    load_settings,
    save_settings,
)
from socialcrm.server.tables import ScoringSettings, Workspace


async def test_changes_are_stored_as_overrides(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
) -> None:
    assert workspace.id is not None
    async with sessions() as session:
        assert await load_settings(session, workspace.id) == DEFAULTS
    async with sessions() as session, session.begin():
        saved = await save_settings(
            session,
            workspace.id,
            {
                "engagement_half_life_days": 14,
                "value_weights": {"monetary": 0.6},
                "inbound_weights": {"message": 5},
                "exchange_rates": {"USD": 7.1},
            },
        )
    assert saved.value_weights.monetary == 0.6 and saved.value_weights.recency == 0.3
    assert saved.inbound_weight("message") == 5 and saved.inbound_weight("comment") == 3
    async with sessions() as session, session.begin():
        again = await save_settings(session, workspace.id, {"engagement_half_life_days": None})
        assert again.engagement_half_life_days == DEFAULTS.engagement_half_life_days
        row = await session.get(ScoringSettings, workspace.id)
        assert row is not None and "engagement_half_life_days" not in row.settings
    async with sessions() as session:
        loaded = await load_settings(session, workspace.id)
    assert loaded == again and loaded.rate("USD") == 7.1 and loaded.rate("EUR") is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"value_weights": {"recency": 0, "frequency": 0, "monetary": 0}}, "value_weights"),
        ({"social_value_weights": {"value": -1}}, "social_value_weights.value"),
        ({"engagement_half_life_days": 0}, "engagement_half_life_days"),
        ({"baseline_half_life_days": 10}, "baseline_half_life_days"),
        ({"churn_weights": {"silence": 1.5}}, "churn_weights.silence"),
        ({"decline_ratio": 2}, "decline_ratio"),
        ({"inbound_weights": {"telepathy": 1}}, "inbound_weights"),
        ({"currency": "yuan"}, "currency"),
        ({"exchange_rates": {"USD": 0}}, "exchange_rates"),
        ({"no_such_knob": 1}, "no_such_knob"),
    ],
)
async def test_a_bad_value_names_its_field_and_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
    workspace: Workspace,
    changes: dict[str, object],
    field: str,
) -> None:
    assert workspace.id is not None
    async with sessions() as session, session.begin():
        await save_settings(session, workspace.id, {"lost_after_days": 120})
    async with sessions() as session, session.begin():
        with pytest.raises(ScoringSettingsError) as refused:
            await save_settings(session, workspace.id, changes)
    assert (refused.value.field, refused.value.code) == (field, "INVALID")
    assert refused.value.message.startswith(f"{field}: ")
    async with sessions() as session:
        kept = await load_settings(session, workspace.id)
    assert kept.lost_after_days == 120 and kept == DEFAULTS.model_copy(
        update={"lost_after_days": 120}
    )
