"""Reading JSON that arrives in requests: bounded nesting, and an object where one is due."""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 64
"""The deepest nesting of arrays and objects a request's JSON may have; GraphQL variables
never need more, and Python's parser would otherwise recurse until it fails."""


class BadJSON(ValueError):
    """JSON a request may not carry: unreadable, or nested past ``MAX_JSON_DEPTH``."""


def load_json(data: str | bytes) -> Any:
    """``data`` parsed, or ``BadJSON`` with a reason a client can act on."""
    try:
        value = json.loads(data)
    except RecursionError as exc:
        raise BadJSON(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels") from exc
    except ValueError as exc:
        raise BadJSON("unable to parse the request body as JSON") from exc
    if _depth(value) > MAX_JSON_DEPTH:
        raise BadJSON(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (walked without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if level <= MAX_JSON_DEPTH:
            stack.extend((child, level + 1) for child in children)
    return deepest
