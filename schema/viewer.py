"""The viewer: who is calling, as the bearer token says."""

from __future__ import annotations

import strawberry

from socialcrm.schema.enums import Scope
from socialcrm.schema.node import Node


@strawberry.type(description="A tenant: one brand's CRM. Nothing crosses workspaces.")
class Workspace(Node):
    """The viewer's workspace."""

    name: str = strawberry.field(description="The brand's name.")
    slug: str = strawberry.field(description="A short unique name.")
    pk: strawberry.Private[int]


@strawberry.type(description="Who is calling: the token's workspace and scopes.")
class Viewer:
    """The caller."""

    workspace: Workspace = strawberry.field(description="The workspace the token belongs to.")
    scopes: list[Scope] = strawberry.field(
        description="Every scope the token holds (admin holds all three)."
    )
