"""docs/api.md's examples work on the demo workspace: its filter examples find something and
its example cursor is one this server makes."""

from __future__ import annotations

import re
from base64 import urlsafe_b64decode as b64decode
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from socialcrm.server.auth import create_token
from socialcrm.server.demo import load_demo
from socialcrm.server.services import Services
from socialcrm.server.sqltypes import utcnow

API_MD = Path(__file__).resolve().parent.parent / "docs" / "api.md"
GRAPHQL_BLOCK = re.compile(r"```graphql\n(.*?)```", re.S)
VARIABLE = re.compile(r"\$(\w+):")


def _filter_examples() -> list[str]:
    """The examples that filter a root list and need no id of a particular object."""
    blocks = GRAPHQL_BLOCK.findall(API_MD.read_text("utf-8"))
    return [
        block
        for block in blocks
        if "filter:" in block
        and not block.lstrip().startswith(("mutation", "subscription"))
        and set(VARIABLE.findall(block)) <= {"since", "from", "to", "after"}
    ]


@pytest.fixture
async def demo_token(services: Services) -> str:
    """A read token of the demo workspace (loaded once per test run)."""
    demo = await load_demo(services, public_url="http://testserver")
    async with services.sessions() as session, session.begin():
        return await create_token(session, demo.workspace_id, "read", name="docs")


def _variables(block: str) -> dict[str, Any]:
    now = utcnow()
    values = {
        "since": (now - timedelta(days=7)).isoformat(),
        "from": (now - timedelta(days=7)).isoformat(),
        "to": now.isoformat(),
    }
    return {name: values[name] for name in VARIABLE.findall(block) if name in values}


def test_the_filter_examples_are_found() -> None:
    assert len(_filter_examples()) >= 4


@pytest.mark.parametrize("block", _filter_examples(), ids=lambda b: b.split("(")[0].strip())
async def test_every_filter_example_finds_something_in_the_demo(
    graphql: Any, demo_token: str, block: str
) -> None:
    answer = await graphql(block, _variables(block), token=demo_token)
    assert "errors" not in answer, answer
    for field, value in answer["data"].items():
        found = value.get("totalCount", len(value["edges"]))
        assert found > 0, f"{field} finds nothing on the demo data:\n{block}"


async def test_the_example_cursor_is_one_the_server_makes(graphql: Any, demo_token: str) -> None:
    [cursor] = re.findall(r'after: "([^"]+)"', API_MD.read_text("utf-8"))
    first = await graphql("{ customers(first: 20) { pageInfo { endCursor } } }", token=demo_token)
    made = first["data"]["customers"]["pageInfo"]["endCursor"]
    # The same list and order as the server's cursor; the id in it depends on the database.
    kind = b64decode(cursor).split(b"\x1f")[0]
    assert kind == b64decode(made).split(b"\x1f")[0] == b"customer:id:asc"
    answer = await graphql(
        f'{{ customers(first: 20, after: "{cursor}") {{ edges {{ node {{ id }} }} }} }}',
        token=demo_token,
    )
    assert "errors" not in answer, answer
    assert answer["data"]["customers"]["edges"]
