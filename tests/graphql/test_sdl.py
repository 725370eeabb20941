"""The checked-in schema.graphql is the schema; every part of it is described."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
)

from socialcrm.plugins import models
from socialcrm.schema import enums, export_sdl
from socialcrm.schema import schema as api_schema

SDL_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"
BUILTIN = {"Query", "Mutation", "Subscription", "String", "Int", "Float", "Boolean", "ID"}


def test_checked_in_sdl_matches_the_schema() -> None:
    assert SDL_FILE.read_text(encoding="utf-8") == export_sdl(), (
        "schema.graphql is out of date: regenerate it with `make schema` "
        "(`scrm export-schema --output schema.graphql`) and review the diff"
    )


def test_everything_has_a_description() -> None:
    missing = []
    for name, type_ in api_schema._schema.type_map.items():
        if name.startswith("__") or name in BUILTIN - {"Query", "Mutation", "Subscription"}:
            continue
        if not type_.description:
            missing.append(name)
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in type_.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in field.args.items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
        elif isinstance(type_, GraphQLInputObjectType):
            for field_name, field in type_.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
        elif isinstance(type_, GraphQLEnumType):
            for value_name, value in type_.values.items():
                if not value.description:
                    missing.append(f"{name}.{value_name}")
    assert not missing, f"undescribed: {missing}"


def test_enums_follow_the_plugin_contract() -> None:
    for ours, contract in (
        (enums.InteractionKind, models.InteractionKind),
        (enums.Direction, models.Direction),
        (enums.MemberRole, models.MemberRole),
    ):
        assert {member.value for member in ours} == {member.value for member in contract}
