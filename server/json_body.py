"""Reading JSON that arrives in requests: bounded nesting, and an object where one is due."""

from __future__ import annotations

from typing import Any

from socialcrm.plugins import MAX_NESTING, InvalidPayload, read_json

MAX_JSON_DEPTH = MAX_NESTING
"""The deepest nesting of arrays and objects a request's JSON may have; GraphQL variables
never need more, and Python's parser would otherwise recurse until it fails."""


class BadJSON(ValueError):
    """JSON a request may not carry: unreadable, or nested past ``MAX_JSON_DEPTH``."""


def load_json(data: str | bytes) -> Any:
    """``data`` parsed, or ``BadJSON`` with a reason a client can act on."""
    try:
        return read_json(data, max_depth=MAX_JSON_DEPTH)
    except InvalidPayload as exc:
        if exc.code == "TOO_DEEP":
            raise BadJSON(exc.reason) from exc
        raise BadJSON("unable to parse the request body as JSON") from exc
