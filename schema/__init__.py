"""The GraphQL schema: the root types assembled with their extensions and validation rules.

``schema`` is built with the default limits; ``build_schema(settings)`` gives the one for a
server's settings (cached per limits and introspection policy, so each distinct configuration
is built once).
``export_sdl()`` prints the SDL that ``schema.graphql`` at the repository root must match.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types.execution import ExecutionContext

from socialcrm.schema.execution import FastExecutionContext
from socialcrm.schema.extensions import ApiGate, log_unexpected
from socialcrm.schema.mutation import Mutation
from socialcrm.schema.query import Query
from socialcrm.schema.rules import max_aliases_rule, max_depth_rule
from socialcrm.schema.subscription import Subscription
from socialcrm.server.settings import Settings

if TYPE_CHECKING:
    from socialcrm.resolvers.compiled import CompiledReads

PARSE_CACHE_SIZE = 512
VALIDATION_CACHE_SIZE = 512
DEFAULT_LIMITS = (
    Settings.model_fields["max_query_depth"].default,
    Settings.model_fields["max_aliases"].default,
    Settings.model_fields["introspection"].default,
)


class ApiSchema(strawberry.Schema):
    """Strawberry's schema, logging only the errors that are not meant for the client.

    ``compiled_reads`` answers the queries it can compile with one SQL statement
    (``socialcrm.resolvers.compiled``).
    """

    compiled_reads: CompiledReads

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)


@lru_cache(maxsize=8)
def _build(max_depth: int, max_aliases: int, introspection: str) -> ApiSchema:
    # Rules are built once, so the rule tuple is the same on every request and the
    # validation cache hits (limiter *extensions* would miss it on every request).
    rules: list[Any] = [max_depth_rule(max_depth), max_aliases_rule(max_aliases)]
    if introspection == "off":
        rules.append(NoSchemaIntrospectionCustomRule)
    anonymous_introspection = introspection == "on"
    extensions: list[Any] = [
        lambda: ParserCache(maxsize=PARSE_CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=VALIDATION_CACHE_SIZE),
        lambda: ApiGate(anonymous_introspection=anonymous_introspection),
    ]
    built = ApiSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=FastExecutionContext,
    )
    # Imported here: ``resolvers`` imports ``schema``'s modules.
    from socialcrm.resolvers import prefetch
    from socialcrm.resolvers.compiled import CompiledReads

    prefetch.install(built._schema)
    built.compiled_reads = CompiledReads(built, rules)
    return built


def build_schema(settings: Settings | None = None) -> ApiSchema:
    """The schema enforcing ``settings``' depth and alias limits and introspection policy."""
    if settings is None:
        return _build(*DEFAULT_LIMITS)
    return _build(settings.max_query_depth, settings.max_aliases, settings.introspection)


def __getattr__(name: str) -> Any:
    # ``schema`` is built on first use, not on import: the resolvers it wires in import
    # this package's modules.
    if name == "schema":
        return build_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def export_sdl() -> str:
    """The schema in SDL, as checked in at ``schema.graphql``."""
    return str(build_schema()).rstrip("\n") + "\n"


__all__ = ["ApiSchema", "build_schema", "export_sdl", "schema"]
