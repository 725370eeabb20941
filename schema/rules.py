"""Validation rules that bound the cost of an operation: nesting depth and aliases.

They run as graphql-core validation rules (added once with ``AddValidationRules``), so their
verdict is cached with the rest of validation: a repeated query pays nothing for them.
Introspection fields are not counted, so GraphiQL's (deep) introspection query passes.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from graphql.language.visitor import SKIP

from socialcrm.schema.errors import ErrorCode


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    visiting: frozenset[str],
) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, visiting))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, visiting))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            # A cycle or an unknown fragment is reported by the standard rules.
            if fragment is not None and name not in visiting:
                deepest = max(deepest, _depth(fragment.selection_set, fragments, visiting | {name}))
    return deepest


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def max_depth_rule(max_depth: int) -> type[ValidationRule]:
    """A rule refusing operations whose fields nest deeper than ``max_depth`` levels."""

    class MaxDepth(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> Any:
            fragments = _fragments(node)
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                depth = _depth(definition.selection_set, fragments, frozenset())
                if depth > max_depth:
                    name = definition.name.value if definition.name else "anonymous"
                    self.report_error(
                        GraphQLError(
                            f"Operation '{name}' is nested {depth} levels deep; "
                            f"the limit is {max_depth}.",
                            definition,
                            extensions={"code": str(ErrorCode.QUERY_TOO_DEEP)},
                        )
                    )
            return SKIP

    return MaxDepth


def max_aliases_rule(max_aliases: int) -> type[ValidationRule]:
    """A rule refusing documents with more than ``max_aliases`` aliased fields."""

    class MaxAliases(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.count = 0

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.alias is not None:
                self.count += 1

        def leave_document(self, node: DocumentNode, *_: Any) -> None:
            if self.count > max_aliases:
                self.report_error(
                    GraphQLError(
                        f"The document has {self.count} aliases; the limit is {max_aliases}.",
                        extensions={"code": str(ErrorCode.TOO_MANY_ALIASES)},
                    )
                )

    return MaxAliases
