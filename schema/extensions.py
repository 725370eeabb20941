"""Schema extensions: the viewer gate and the error policy of every operation.

``ApiGate`` refuses operations without a viewer (UNAUTHENTICATED; an introspection-only query
passes when the server allows anonymous introspection) or with too low a scope (FORBIDDEN),
gives every error an ``extensions.code``, and replaces unexpected errors with a bare
INTERNAL_SERVER_ERROR (logged with its traceback, never shown to the client).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import (
    ExecutionResult as GraphQLExecutionResult,
)
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionContext

from socialcrm.schema.errors import ApiError, ErrorCode
from socialcrm.server.auth import MISSING_TOKEN

log = logging.getLogger("socialcrm.server.graphql")

INTERNAL_MESSAGE = "Internal server error."

# The least scope each operation type needs; mutations may demand more per field.
_NEEDED_SCOPE = {
    OperationType.QUERY: "read",
    OperationType.SUBSCRIPTION: "read",
    OperationType.MUTATION: "write",
}


def is_expected(error: GraphQLError) -> bool:
    """True for errors whose message is meant for the client."""
    original = error.original_error
    return original is None or isinstance(original, (ApiError, GraphQLError))


def _introspection_only(operation: OperationDefinitionNode) -> bool:
    # Lets GraphiQL load the schema before the user has pasted a token.
    return all(
        isinstance(selection, FieldNode) and selection.name.value.startswith("__")
        for selection in operation.selection_set.selections
    )


def _code(error: GraphQLError, code: ErrorCode) -> GraphQLError:
    # Validation errors are cached and shared between requests: set the code only once.
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": str(code)}
    return error


class ApiGate(SchemaExtension):
    """Authentication, scopes and error codes for every operation."""

    def __init__(self, *, anonymous_introspection: bool = False) -> None:
        self.anonymous_introspection = anonymous_introspection
        self._validation_errors: frozenset[int] = frozenset()

    def on_validate(self) -> Iterator[None]:
        yield
        self._validation_errors = frozenset(
            id(error) for error in self.execution_context.pre_execution_errors or ()
        )

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        refusal = self._refusal(execution)
        if refusal is not None:
            execution.result = GraphQLExecutionResult(data=None, errors=[refusal])
        yield

    def _refusal(self, execution: ExecutionContext) -> GraphQLError | None:
        context: Any = execution.context
        viewer = getattr(context, "viewer", None)
        assert execution.graphql_document is not None
        operation = get_operation_ast(execution.graphql_document, execution.operation_name)
        if operation is None:
            return None  # graphql-core reports the missing operation itself
        if viewer is None:
            if (
                self.anonymous_introspection
                and operation.operation is OperationType.QUERY
                and _introspection_only(operation)
            ):
                return None
            # A wrong token and a missing one are told apart (``Context.auth_problem``).
            return GraphQLError(
                getattr(context, "auth_problem", None) or MISSING_TOKEN,
                extensions={"code": str(ErrorCode.UNAUTHENTICATED)},
            )
        needed = _NEEDED_SCOPE[operation.operation]
        if not viewer.allows(needed):
            return GraphQLError(
                f"This operation needs a token with the {needed} scope.",
                extensions={"code": str(ErrorCode.FORBIDDEN)},
            )
        return None

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self._coded(error) for error in result.errors]

    def _coded(self, error: GraphQLError) -> GraphQLError:
        return coded(error, validation_errors=self._validation_errors)


def coded(error: GraphQLError, *, validation_errors: frozenset[int] = frozenset()) -> GraphQLError:
    """``error`` with an ``extensions.code``; unexpected errors become a bare internal error."""
    if isinstance(error, GraphQLSyntaxError):
        return _code(error, ErrorCode.GRAPHQL_PARSE_FAILED)
    if id(error) in validation_errors:
        return _code(error, ErrorCode.GRAPHQL_VALIDATION_FAILED)
    if not is_expected(error):
        return GraphQLError(
            INTERNAL_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": str(ErrorCode.INTERNAL_SERVER_ERROR)},
        )
    # What is left: variables that do not fit their types, bad arguments.
    return _code(error, ErrorCode.BAD_USER_INPUT)


def log_unexpected(errors: list[GraphQLError]) -> None:
    """Log the errors the client will only see as INTERNAL_SERVER_ERROR."""
    for error in errors:
        if not is_expected(error):
            original = error.original_error
            log.error(
                "unexpected error in %s",
                ".".join(str(p) for p in error.path or ()) or "operation",
                exc_info=(type(original), original, original.__traceback__)
                if original is not None
                else None,
            )
