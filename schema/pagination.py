"""Relay connection plumbing shared by every connection type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry


@strawberry.type(description="Where a page of a connection sits in the whole list.")
class PageInfo:
    """Relay's page info; this API pages forward only (`first`/`after`)."""

    has_next_page: bool = strawberry.field(description="True when more items follow this page.")
    has_previous_page: bool = strawberry.field(
        description="True when this page was fetched with `after` (items precede it)."
    )
    start_cursor: str | None = strawberry.field(
        description="The cursor of the first edge, or null for an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the last edge: pass it as `after` for the next page."
    )


CountFn = Callable[[], Awaitable[int]]
"""Counts the whole list of a connection; awaited only when `totalCount` is asked for."""
