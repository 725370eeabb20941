"""Keyset pagination: page sizes, opaque cursors and page info.

A cursor is the sort key of an item (and its id, which breaks ties), tagged with what the
list is sorted by, as base64 JSON. The next page is what sorts after it, so paging never
skips or repeats items when rows are added meanwhile, and costs the same at any depth.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from socialcrm.schema.errors import BadUserInput, PageSizeExceeded
from socialcrm.schema.pagination import PageInfo

DEFAULT_PAGE_SIZE = 20
"""Items per page when ``first`` is not given (never more than the configured cap)."""


def page_size(first: int | None, cap: int) -> int:
    """The number of items to return for ``first``; raises for a negative or too large one."""
    if first is None:
        return min(DEFAULT_PAGE_SIZE, cap)
    if first < 0:
        raise BadUserInput("`first` must not be negative")
    if first > cap:
        raise PageSizeExceeded(
            f"`first` is {first}, larger than the page size cap of {cap}", maxPageSize=cap
        )
    return first


CURSOR_SEPARATOR = "\x1f"
"""Between a cursor's parts: never part of a kind, a number or an ISO timestamp."""


def encode_cursor(kind: str, *values: object) -> str:
    """An opaque cursor for an item of a list sorted by ``kind``.

    Values are numbers or ISO timestamps (strings); ``decode_cursor`` gives them back as
    strings, and the caller parses them (it knows their types).
    """
    text = CURSOR_SEPARATOR.join((kind, *map(str, values)))
    return base64.urlsafe_b64encode(text.encode()).decode("ascii")


def decode_cursor(cursor: str, kind: str, arity: int) -> list[str]:
    """The ``arity`` values (as strings) of a cursor made by ``encode_cursor(kind, ...)``.

    Raises ``BadUserInput`` for anything else, including a cursor of another sort order.
    """
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput("`after` is not a valid cursor") from None
    parts = decoded.split(CURSOR_SEPARATOR)
    if len(parts) != arity + 1 or parts[0] != kind:
        raise BadUserInput("`after` is a cursor of another list or order") from None
    return parts[1:]


def page_info(cursors: Sequence[str], has_next: bool, after: str | None) -> PageInfo:
    """The page info of a page whose edges have ``cursors``."""
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=after is not None,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )
