"""A graphql-core execution context with a fast path for plain fields.

Most fields of a large result are plain attributes (``content``, ``channel``, ``node``,
``edges``): Strawberry resolves them with a getter that ignores its ``info`` argument. The
stock executor still builds a full resolve-info object for each of them, which costs more
than the field itself. Here such fields read the attribute directly and get an info object
that is only built if something asks for it (an error message, a type check); every other
field takes the stock path. Results, errors and null handling are the stock executor's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from graphql import (
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    is_leaf_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# Strawberry's getter for fields without a resolver: ``(source, *args) -> attribute``.
_BASIC_RESOLVER_NAME = "_get_basic_result"


class _DeferredInfo:
    """Stands in for ``GraphQLResolveInfo``; builds the real one on first attribute access."""

    __slots__ = ("_args", "_built", "_context")

    def __init__(self, context: FastExecutionContext, *args: Any) -> None:
        self._context = context
        self._args = args
        self._built: GraphQLResolveInfo | None = None

    def __getattr__(self, name: str) -> Any:
        if self._built is None:
            self._built = self._context.build_resolve_info(*self._args)
        return getattr(self._built, name)


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, resolving plain fields without building resolve info."""

    _plain: ClassVar[dict[GraphQLField, tuple[Any, Any]]] = {}
    """Per field definition: (getter or None, leaf type or None)."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        field_def = self.schema.get_field(parent_type, node.name.value)
        if field_def is None or node.arguments or self.middleware_manager:
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        plan = self._plain.get(field_def)
        if plan is None:
            plan = self._plain[field_def] = _plan(field_def)
        getter, leaf = plan
        if getter is None:
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        try:
            result = getter(source, None)
            if leaf is not None and result is not None and not self.is_awaitable(result):
                # The common case: a scalar attribute, serialized as the stock path would.
                return self.complete_leaf_value(leaf, result)
            if self.is_awaitable(result):
                return super().execute_field(
                    parent_type, source, field_details_list, path, position_context
                )
            info = _DeferredInfo(
                self, field_def, [d.node for d in field_details_list], parent_type, path
            )
            completed = self.complete_value(
                field_def.type,
                field_details_list,
                info,  # type: ignore[arg-type]
                path,
                result,
                position_context,
            )
            if self.is_awaitable(completed):
                return self._await_completed(completed, field_def, field_details_list, path)
            return completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_def.type, field_details_list, path)
            return None

    async def _await_completed(
        self, completed: Any, field_def: GraphQLField, field_details_list: Any, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_def.type, field_details_list, path)
            return None


def _plan(field_def: GraphQLField) -> tuple[Any, Any]:
    resolve = field_def.resolve
    if resolve is None or getattr(resolve, "__name__", "") != _BASIC_RESOLVER_NAME:
        return (None, None)
    if field_def.args:
        return (None, None)
    return_type = field_def.type
    inner = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    return (resolve, inner if is_leaf_type(inner) else None)
