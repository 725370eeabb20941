"""The documentation keeps up with the code: every hook, root field and setting is in it,
its Python examples run, and the README opens with the two commands."""

from __future__ import annotations

import inspect
import json
import re
import time
import types
from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema as parse_sdl

from socialcrm.plugins import spec
from socialcrm.plugins.manager import PluginManager
from socialcrm.plugins.testing import check_delivery, check_refusal, make_account, webhook_request
from socialcrm.server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PLUGINS_MD = DOCS / "plugins.md"

CODE_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def _hook_names() -> list[str]:
    return sorted(
        name
        for name, function in inspect.getmembers(spec, inspect.isfunction)
        if hasattr(function, f"{spec.PROJECT_NAME}_spec")
    )


def _python_blocks(path: Path) -> list[str]:
    return [code for lang, code in CODE_BLOCK.findall(path.read_text("utf-8")) if lang == "python"]


def _section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = text.index(heading + "\n")
    rest = text[start + len(heading) + 1 :]
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", rest, re.M)]
    return rest[: ends[0]] if ends else rest


def test_there_are_hooks() -> None:
    assert "scrm_channels" in _hook_names()


@pytest.mark.parametrize("hook", _hook_names())
def test_every_hook_is_documented_with_a_registrable_example(hook: str) -> None:
    text = PLUGINS_MD.read_text("utf-8")
    assert f"### {hook}\n" in text, f"docs/plugins.md has no section for the hook {hook}"
    blocks = [
        c for lang, c in CODE_BLOCK.findall(_section(text, f"### {hook}")) if lang == "python"
    ]
    assert blocks, f"the {hook} section has no Python example"
    module = types.ModuleType(f"docs_example_{hook}")
    exec(compile(blocks[0], f"docs/plugins.md ({hook})", "exec"), module.__dict__)
    assert hasattr(getattr(module, hook, None), f"{spec.PROJECT_NAME}_impl"), (
        f"the {hook} example defines no @hookimpl {hook}"
    )
    # pluggy checks the implementation's arguments against the spec when it registers it.
    manager = PluginManager(load_entrypoints=False, builtins=())
    manager.register(module, name=module.__name__)


def test_every_python_example_compiles() -> None:
    for path in sorted(DOCS.glob("*.md")):
        for number, code in enumerate(_python_blocks(path)):
            compile(code, f"{path.name} example {number}", "exec")


@pytest.fixture
def parrot() -> types.ModuleType:
    """The complete example plugin of docs/plugins.md, as a module."""
    [code] = [c for c in _python_blocks(PLUGINS_MD) if c.startswith("# scrm_parrot.py")]
    module = types.ModuleType("scrm_parrot")
    exec(compile(code, "docs/plugins.md (scrm_parrot.py)", "exec"), module.__dict__)
    return module


async def test_the_complete_example_plugin_conforms(parrot: Any) -> None:
    channel = parrot.ParrotChannel()
    settings = channel.validate_settings({"secret": "s3cret-key"})
    account = make_account(settings, channel="parrot")
    body = json.dumps(
        {
            "messages": [
                {"id": "m1", "from": "u1", "text": "hi", "ts": int(time.time()), "mentions": [7]}
            ]
        }
    ).encode()
    request = webhook_request(body, headers={"X-Parrot-Signature": parrot.sign("s3cret-key", body)})
    [event] = await check_delivery(channel, account, request)
    assert event.content == "hi" and event.relations
    forged = webhook_request(body, headers={"X-Parrot-Signature": "sha256=0"})
    assert (await check_refusal(channel, account, forged)).status_code == 403

    manager = PluginManager(load_entrypoints=False, builtins=())
    manager.register(parrot, name="scrm_parrot")
    assert list(manager.channels) == ["parrot"]


def test_the_api_guide_names_every_root_field() -> None:
    from socialcrm.schema import export_sdl

    text = (DOCS / "api.md").read_text("utf-8")
    schema = parse_sdl(export_sdl())
    missing = []
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is None:
            continue
        missing += [f"{root.name}.{f}" for f in root.fields if f not in text]
    assert not missing, f"docs/api.md does not mention: {', '.join(missing)}"


def test_the_api_guide_lists_every_user_error_code() -> None:
    from socialcrm.schema import export_sdl

    text = (DOCS / "api.md").read_text("utf-8")
    codes = parse_sdl(export_sdl()).type_map["UserErrorCode"]
    missing = [code for code in codes.values if f"`{code}`" not in text]  # type: ignore[attr-defined]
    assert not missing, f"docs/api.md does not explain the userError codes {missing}"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "operations.md").read_text("utf-8")
    missing = [
        f"SCRM_{name.upper()}"
        for name in Settings.model_fields
        if f"`SCRM_{name.upper()}`" not in text
    ]
    assert not missing, f"docs/operations.md does not document {', '.join(missing)}"


def test_the_readme_starts_with_make_run_and_make_test() -> None:
    lines = [line for line in (ROOT / "README.md").read_text("utf-8").splitlines() if line.strip()]
    assert lines[0].startswith("# ")
    opening = "\n".join(lines[1:6])
    assert "make run" in opening and "make test" in opening
    assert opening.index("make run") < opening.index("make test")


def test_the_readme_links_the_guides() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    for guide in ("docs/api.md", "docs/plugins.md", "docs/operations.md"):
        assert f"({guide})" in readme
        assert (ROOT / guide).exists()
