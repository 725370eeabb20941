"""The scoring parameters as GraphQL types, made from the scoring model itself.

``socialcrm.server.scoring.settings.ScoringParameters`` is the one list of parameters,
with their defaults and ranges. The output type ``ScoringSettings`` and the input
``UpdateScoringSettingsInput`` are generated from it (a parameter added there appears here,
described by its name, range and default, and docs/scoring.md), so the API never lags
behind the model. Groups of weights become their own types; maps (weights by interaction
kind, exchange rates) are JSON objects.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import strawberry
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from strawberry.scalars import JSON

from socialcrm.schema.errors import UserError
from socialcrm.server.scoring.settings import ScoringParameters

_SCALARS: dict[Any, Any] = {float: float, int: int, str: str, bool: bool}
_BOUNDS = ((Gt, "gt", ">"), (Ge, "ge", "≥"), (Lt, "lt", "<"), (Le, "le", "≤"))


def camel(name: str) -> str:
    """The GraphQL name of a snake_case parameter name."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def _is_group(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _default(info: FieldInfo) -> Any:
    value = info.get_default(call_default_factory=True)
    return value.model_dump() if isinstance(value, BaseModel) else value


def describe(name: str, info: FieldInfo) -> str:
    """A parameter's description: the model's own, or its name in docs/scoring.md, with its
    range and default."""
    text = info.description or f"See `{name}` in docs/scoring.md."
    bounds = [
        f"{sign} {getattr(item, attribute)}"
        for item in info.metadata
        for kind, attribute, sign in _BOUNDS
        if isinstance(item, kind)
    ]
    if bounds:
        text += f" Allowed: {' and '.join(bounds)}."
    default = json.dumps(_default(info), ensure_ascii=False, sort_keys=True)
    return f"{text} Default: {default}."


def _annotation(info: FieldInfo, groups: dict[type[BaseModel], Any]) -> Any:
    annotation = info.annotation
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return groups[annotation]
    if getattr(annotation, "__origin__", None) is dict:
        return JSON
    raise TypeError(f"no GraphQL type for the scoring parameter type {annotation!r}")


def _make(
    model: type[BaseModel],
    name: str,
    description: str,
    *,
    is_input: bool,
    groups: dict[type[BaseModel], Any],
    extra: dict[str, tuple[Any, Any]] | None = None,
) -> Any:
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__module__": __name__, "__doc__": description}
    for field_name, info in model.model_fields.items():
        annotation = _annotation(info, groups)
        text = describe(field_name, info)
        if is_input:
            annotations[field_name] = annotation | None
            namespace[field_name] = strawberry.field(
                default=strawberry.UNSET,
                description=f"{text} Null gives the parameter back its default.",
            )
        else:
            annotations[field_name] = annotation
            namespace[field_name] = strawberry.field(description=text)
    for field_name, (annotation, field) in (extra or {}).items():
        annotations[field_name] = annotation
        namespace[field_name] = field
    namespace["__annotations__"] = annotations
    made = type(name, (), namespace)
    decorate = strawberry.input if is_input else strawberry.type
    return decorate(made, name=name, description=description)


def _groups(*, is_input: bool) -> dict[type[BaseModel], Any]:
    groups: dict[type[BaseModel], Any] = {}
    for info in ScoringParameters.model_fields.values():
        model = info.annotation
        if _is_group(model) and model not in groups:
            assert isinstance(model, type)
            name = f"Scoring{model.__name__}" + ("Input" if is_input else "")
            what = (model.__doc__ or model.__name__).strip().splitlines()[0]
            groups[model] = _make(
                model,
                name,
                f"{what} (the weights left out keep their value)." if is_input else what,
                is_input=is_input,
                groups=groups,
            )
    return groups


_OUTPUT_GROUPS = _groups(is_input=False)
_INPUT_GROUPS = _groups(is_input=True)

ScoringSettings = _make(
    ScoringParameters,
    "ScoringSettings",
    "The workspace's scoring parameters, each with its current value: the defaults for what "
    "the workspace did not change (docs/scoring.md explains each).",
    is_input=False,
    groups=_OUTPUT_GROUPS,
    extra={
        "updated_at": (
            datetime | None,
            strawberry.field(
                description="When a parameter was last changed; null when the workspace "
                "never changed one."
            ),
        ),
        "rescored_at": (
            datetime | None,
            strawberry.field(
                description="When the last batch rescore of the workspace (`scrm rescore`) "
                "finished; null when never."
            ),
        ),
    },
)

UpdateScoringSettingsInput = _make(
    ScoringParameters,
    "UpdateScoringSettingsInput",
    "Changes to the scoring parameters: every field is optional and only those given change. "
    "A map (`inboundWeights`, `edgeWeights`, `exchangeRates`) is replaced whole; a group of "
    "weights keeps the weights left out.",
    is_input=True,
    groups=_INPUT_GROUPS,
)


@strawberry.type(description="The result of `updateScoringSettings`.")
class UpdateScoringSettingsPayload:
    """The parameters after the change, or why nothing changed."""

    scoring_settings: ScoringSettings | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Every parameter after the change; null when nothing changed."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="Why nothing changed: the field names the refused parameter (a weight of a "
        "group as `valueWeights.recency`).",
    )


def settings_of(
    parameters: ScoringParameters, updated_at: datetime | None, rescored_at: datetime | None
) -> Any:
    """The ``ScoringSettings`` object of a workspace's parameters."""
    values: dict[str, Any] = {}
    for name in ScoringParameters.model_fields:
        value = getattr(parameters, name)
        if isinstance(value, BaseModel):
            value = _OUTPUT_GROUPS[type(value)](**value.model_dump())
        elif isinstance(value, dict):
            value = dict(value)
        values[name] = value
    return ScoringSettings(**values, updated_at=updated_at, rescored_at=rescored_at)


def changes_of(data: Any) -> dict[str, Any]:
    """The changes an ``UpdateScoringSettingsInput`` asks for, as the scoring settings take
    them: None gives a parameter back its default, a group's weight set to null too."""
    changes: dict[str, Any] = {}
    for name, info in ScoringParameters.model_fields.items():
        value = getattr(data, name)
        if value is strawberry.UNSET:
            continue
        group = info.annotation
        if value is not None and isinstance(group, type) and issubclass(group, BaseModel):
            defaults = _default(info)
            value = {
                weight: defaults[weight] if given is None else given
                for weight in group.model_fields
                if (given := getattr(value, weight)) is not strawberry.UNSET
            }
        changes[name] = value
    return changes


_PARAMETER = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def api_words(text: str) -> str:
    """``text`` with the model's snake_case parameter names in the API's camelCase."""
    names = set(ScoringParameters.model_fields)
    for info in ScoringParameters.model_fields.values():
        if _is_group(info.annotation):
            assert isinstance(info.annotation, type)
            names |= set(info.annotation.model_fields)
    return _PARAMETER.sub(lambda m: camel(m[0]) if m[0] in names else m[0], text)
