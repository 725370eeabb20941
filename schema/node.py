"""The Relay ``Node`` interface and global ids.

A global id is ``base64("<TypeName>:<primary key>")``, as Relay clients expect: opaque to
them, and it says which type it names, so ``node(id)`` can refetch any object.
"""

from __future__ import annotations

import base64
import binascii

import strawberry


@strawberry.interface(description="An object with a global id; `node(id)` fetches it again.")
class Node:
    """Every refetchable type implements this interface."""

    id: strawberry.ID = strawberry.field(
        description="The object's global id: opaque, stable, and unique across types."
    )


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    """The global id of the ``type_name`` row whose primary key is ``pk``."""
    return strawberry.ID(base64.b64encode(f"{type_name}:{pk}".encode()).decode("ascii"))


def from_global_id(global_id: str) -> tuple[str, int] | None:
    """``(type name, primary key)`` of a global id, or None when it is not one of ours."""
    try:
        decoded = base64.b64decode(global_id.encode("ascii"), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return None
    type_name, sep, pk = decoded.partition(":")
    if not sep or not type_name or not pk.isdigit():
        return None
    return type_name, int(pk)


def pk_of(global_id: str, type_name: str) -> int | None:
    """The primary key of a global id of ``type_name``, or None for any other id."""
    parsed = from_global_id(global_id)
    if parsed is None or parsed[0] != type_name:
        return None
    return parsed[1]
