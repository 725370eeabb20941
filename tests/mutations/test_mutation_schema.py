"""The mutation half of the schema documents itself: every type, field, argument and value."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLObjectType,
    get_named_type,
)

from socialcrm.schema import schema


def _reachable_from_mutation() -> dict[str, GraphQLNamedType]:
    """Mutation and every input, payload and enum its fields take or return directly."""
    root = schema._schema.mutation_type
    assert root is not None
    found: dict[str, GraphQLNamedType] = {root.name: root}
    todo: list[GraphQLNamedType] = []
    for field in root.fields.values():
        todo.append(get_named_type(field.type))
        todo.extend(get_named_type(arg.type) for arg in field.args.values())
    while todo:
        named = todo.pop()
        if named.name in found or named.name.startswith("__"):
            continue
        found[named.name] = named
        if isinstance(named, GraphQLInputObjectType):
            todo.extend(get_named_type(f.type) for f in named.fields.values())
        if isinstance(named, GraphQLObjectType) and named.name.endswith("Payload"):
            todo.extend(get_named_type(f.type) for f in named.fields.values())
    return found


def test_every_mutation_part_has_a_description():
    missing: list[str] = []
    for name, named in _reachable_from_mutation().items():
        if not named.description:
            missing.append(name)
        if isinstance(named, GraphQLObjectType | GraphQLInputObjectType):
            for field_name, field in named.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
        if isinstance(named, GraphQLEnumType):
            missing.extend(
                f"{name}.{value_name}"
                for value_name, value in named.values.items()
                if not value.description
            )
    assert missing == []


def test_mutations_named_as_the_contract_says():
    root = schema._schema.mutation_type
    assert root is not None
    assert {
        "createCustomer",
        "updateCustomer",
        "tagCustomer",
        "untagCustomer",
        "mergeCustomers",
        "createCommunity",
        "addCommunityMember",
        "removeCommunityMember",
        "recordInteraction",
        "connectChannel",
        "sendMessage",
    } <= set(root.fields)
    for name, field in root.fields.items():
        payload = get_named_type(field.type)
        assert isinstance(payload, GraphQLObjectType)
        assert "userErrors" in payload.fields, name
