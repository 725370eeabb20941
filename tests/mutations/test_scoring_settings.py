"""scoringSettings and updateScoringSettings: every parameter readable with a read token,
changeable with an admin token, refused values named by their field and changing nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.server.scoring.settings import ScoringParameters
from socialcrm.server.tables import ScoringSettings, Workspace

READ = """{ scoringSettings {
  engagementHalfLifeDays baselineHalfLifeDays currency formationMinInbound inboundWeights
  exchangeRates valueWeights { recency frequency monetary }
  churnWeights { negativeSentiment complaint } updatedAt rescoredAt
} }"""
UPDATE = """mutation($input: UpdateScoringSettingsInput!) {
  updateScoringSettings(input: $input) {
    scoringSettings { engagementHalfLifeDays currency exchangeRates
      valueWeights { recency frequency monetary } churnWeights { negativeSentiment }
      updatedAt }
    userErrors { field message code }
  }
}"""


async def stored(sessions: async_sessionmaker[AsyncSession], workspace: Workspace) -> Any:
    """The workspace's stored override document (None without a row)."""
    async with sessions() as session:
        row = await session.get(ScoringSettings, workspace.id)
        return None if row is None else dict(row.settings)


async def test_read_token_reads_every_parameter_with_its_default(
    graphql: Any, read_token: str
) -> None:
    answer = await graphql(READ, token=read_token)
    settings = answer["data"]["scoringSettings"]
    defaults = ScoringParameters()
    assert settings["engagementHalfLifeDays"] == defaults.engagement_half_life_days
    assert settings["formationMinInbound"] == defaults.formation_min_inbound
    assert settings["currency"] == defaults.currency
    assert settings["inboundWeights"] == defaults.inbound_weights
    assert settings["valueWeights"] == defaults.value_weights.model_dump()
    assert settings["updatedAt"] is None and settings["rescoredAt"] is None


async def test_admin_changes_only_the_parameters_given(
    graphql: Any,
    admin_token: str,
    read_token: str,
    workspace: Workspace,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = {
        "engagementHalfLifeDays": 14,
        "currency": "USD",
        "exchangeRates": {"CNY": 0.14},
        "valueWeights": {"recency": 0.5},
        "churnWeights": {"negativeSentiment": 0.1},
    }
    answer = await graphql(UPDATE, {"input": first}, token=admin_token)
    payload = answer["data"]["updateScoringSettings"]
    assert payload["userErrors"] == []
    settings = payload["scoringSettings"]
    assert settings["engagementHalfLifeDays"] == 14.0
    assert (settings["currency"], settings["exchangeRates"]) == ("USD", {"CNY": 0.14})
    # A group keeps the weights left out.
    assert settings["valueWeights"] == {"recency": 0.5, "frequency": 0.3, "monetary": 0.4}
    assert settings["updatedAt"] is not None
    # Null gives a parameter (or one weight of a group) back its default.
    second = {"engagementHalfLifeDays": None, "churnWeights": {"negativeSentiment": None}}
    answer = await graphql(UPDATE, {"input": second}, token=admin_token)
    settings = answer["data"]["updateScoringSettings"]["scoringSettings"]
    assert settings["engagementHalfLifeDays"] == 30.0
    assert settings["churnWeights"] == {"negativeSentiment": 0.4}
    read = (await graphql(READ, token=read_token))["data"]["scoringSettings"]
    assert read["currency"] == "USD"
    assert read["valueWeights"]["recency"] == 0.5
    assert read["churnWeights"]["complaint"] == 0.3
    document = await stored(sessions, workspace)
    assert "engagement_half_life_days" not in document
    assert document["currency"] == "USD"


async def test_refused_values_name_their_field_and_change_nothing(
    graphql: Any,
    admin_token: str,
    workspace: Workspace,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    answer = await graphql(UPDATE, {"input": {"declineRatio": 0.4}}, token=admin_token)
    assert answer["data"]["updateScoringSettings"]["userErrors"] == []
    before = await stored(sessions, workspace)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"engagementHalfLifeDays": -1}, "engagementHalfLifeDays", "greater than 0"),
        ({"pagerankDamping": 1.0}, "pagerankDamping", "less than 1"),
        ({"currency": "yuan"}, "currency", "ISO 4217"),
        ({"inboundWeights": {"telepathy": 1}}, "inboundWeights", "telepathy"),
        ({"exchangeRates": {"USD": 0}}, "exchangeRates", "above zero"),
        (
            {"valueWeights": {"recency": 0, "frequency": 0, "monetary": 0}},
            "valueWeights",
            "above zero",
        ),
        ({"churnWeights": {"silence": 2}}, "churnWeights.silence", "less than or equal to 1"),
        # A rule between two parameters speaks of both in the API's words.
        ({"baselineHalfLifeDays": 10}, "baselineHalfLifeDays", "engagementHalfLifeDays"),
    ]
    for given, field, words in cases:
        answer = await graphql(UPDATE, {"input": given}, token=admin_token)
        payload = answer["data"]["updateScoringSettings"]
        assert payload["scoringSettings"] is None, given
        [error] = payload["userErrors"]
        assert (error["field"], error["code"]) == (field, "INVALID"), error
        assert words in error["message"], error
        assert "_" not in error["message"].split(":")[0], error
    assert await stored(sessions, workspace) == before


async def test_only_admin_tokens_change_settings(
    graphql: Any, write_token: str, workspace: Workspace, sessions: async_sessionmaker[AsyncSession]
) -> None:
    answer = await graphql(UPDATE, {"input": {"engagementHalfLifeDays": 7}}, token=write_token)
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await stored(sessions, workspace) is None
