"""The refusals of the storage layer: expected failures the API reports as userErrors."""

from __future__ import annotations


class ChangeRejected(ValueError):
    """An expected failure of a change: reported to the caller as a userError.

    ``code`` is a userError code (NOT_FOUND, INVALID, DUPLICATE, CONFLICT …) and ``field`` the
    input field at fault, when one is.
    """

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
