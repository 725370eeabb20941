"""Errors: the typed ``UserError`` of mutation payloads, and the codes of GraphQL errors.

Expected failures of a mutation (a missing customer, a duplicate tag) are data: the payload's
``userErrors``. Everything else is a GraphQL error whose ``extensions.code`` is one of
``ErrorCode``; resolvers raise ``ApiError`` (or a subclass) to produce one.
"""

from __future__ import annotations

import enum
from typing import Any

import strawberry


@strawberry.enum(description="Why a mutation could not do what was asked.")
class UserErrorCode(enum.Enum):
    """Codes of ``UserError``; clients switch on them."""

    INVALID = strawberry.enum_value("invalid", description="A value is malformed or out of range.")
    REQUIRED = strawberry.enum_value("required", description="A required value is missing.")
    NOT_FOUND = strawberry.enum_value(
        "not_found", description="The object does not exist in the viewer's workspace."
    )
    DUPLICATE = strawberry.enum_value(
        "duplicate", description="Something with the same unique key exists already."
    )
    CONFLICT = strawberry.enum_value(
        "conflict", description="The request contradicts the object's current state."
    )
    UNKNOWN_CHANNEL = strawberry.enum_value(
        "unknown_channel", description="No installed channel plugin has this name."
    )
    CHANNEL_CONFIG = strawberry.enum_value(
        "channel_config", description="The channel rejected the account's settings."
    )
    CHANNEL_ERROR = strawberry.enum_value(
        "channel_error", description="The channel's platform refused or failed the request."
    )
    OUTSIDE_REPLY_WINDOW = strawberry.enum_value(
        "outside_reply_window",
        description="The channel only lets the brand write within a window after the "
        "customer's last message (WeChat, Weibo: 48 hours), or the customer unfollowed.",
    )


@strawberry.type(description="An expected failure of a mutation, reported as data.")
class UserError:
    """One problem with a mutation's input or the state it meets."""

    field: str | None = strawberry.field(
        default=None,
        description="The input field the error is about (camelCase), or null for the whole input.",
    )
    message: str = strawberry.field(description="What went wrong, for people.")
    code: UserErrorCode = strawberry.field(description="What went wrong, for programs.")


class ErrorCode(enum.StrEnum):
    """Values of ``extensions.code`` on GraphQL errors."""

    BAD_REQUEST = "BAD_REQUEST"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    PAGE_SIZE_EXCEEDED = "PAGE_SIZE_EXCEEDED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class ApiError(Exception):
    """An expected GraphQL error: its message is shown, with ``extensions.code``."""

    code: ErrorCode = ErrorCode.BAD_USER_INPUT

    def __init__(self, message: str, *, code: ErrorCode | None = None, **extra: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        # graphql-core copies an original error's ``extensions`` onto the GraphQL error.
        self.extensions: dict[str, Any] = {"code": str(self.code), **extra}


class Unauthenticated(ApiError):
    """No valid bearer token."""

    code = ErrorCode.UNAUTHENTICATED


class Forbidden(ApiError):
    """The token's scope is too low for the operation."""

    code = ErrorCode.FORBIDDEN


class PageSizeExceeded(ApiError):
    """``first`` is larger than the server's page size cap."""

    code = ErrorCode.PAGE_SIZE_EXCEEDED


class BadUserInput(ApiError):
    """An argument is invalid (a malformed id or cursor, a negative ``first``)."""

    code = ErrorCode.BAD_USER_INPUT
