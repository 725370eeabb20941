"""`scoringSettings` and `updateScoringSettings`: the workspace's scoring parameters."""

from __future__ import annotations

from typing import Any

import strawberry

from socialcrm.resolvers.mutations.base import require_scope, services_of, transaction, user_error
from socialcrm.schema.scoring_settings import (
    UpdateScoringSettingsPayload,
    api_words,
    camel,
    changes_of,
    settings_of,
)
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.scoring.settings import load_settings, save_settings
from socialcrm.server.tables import ScoringSettings as ScoringSettingsRow


async def scoring_settings(info: strawberry.Info) -> Any:
    """Every parameter of the viewer's workspace with its current value (read scope)."""
    viewer = info.context.require("read")
    async with services_of(info).sessions() as session:
        parameters = await load_settings(session, viewer.workspace_id)
        row = await session.get(ScoringSettingsRow, viewer.workspace_id)
    return settings_of(parameters, *_times(row))


async def update_scoring_settings(info: strawberry.Info, data: Any) -> UpdateScoringSettingsPayload:
    """Change the given parameters (admin scope); a refused value changes nothing."""
    viewer = require_scope(info, "admin")
    try:
        async with transaction(services_of(info)) as session:
            parameters = await save_settings(session, viewer.workspace_id, changes_of(data))
            row = await session.get(ScoringSettingsRow, viewer.workspace_id)
            times = _times(row)
    except ChangeRejected as exc:
        return UpdateScoringSettingsPayload(user_errors=[user_error(_in_api_words(exc))])
    return UpdateScoringSettingsPayload(scoring_settings=settings_of(parameters, *times))


def _times(row: ScoringSettingsRow | None) -> tuple[Any, Any]:
    if row is None:
        return None, None
    # A row whose document is empty again follows the defaults: nothing is "changed".
    return (row.updated_at if row.settings else None), row.rescored_at


def _in_api_words(exc: ChangeRejected) -> ChangeRejected:
    """The refusal with the input's field names (``valueWeights.recency``), not the model's;
    an error of the parameters as a whole names no field."""
    field = exc.field
    if field is not None:
        field = ".".join(camel(part) for part in field.split(".")) if field != "settings" else None
    message = api_words(exc.message)
    return ChangeRejected(message, code=exc.code, field=field)
