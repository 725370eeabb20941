"""The documentation keeps up with the code: every hook, root field and setting is in it,
its Python examples run, and the README opens with the two commands."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
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


FILE_BLOCK = re.compile(r"# ([\w./-]+\.(?:py|toml))\n")


def _file_blocks(text: str) -> dict[str, str]:
    """The code blocks of a guide that open with ``# <path>``: the files of an example package."""
    files = {}
    for lang, code in CODE_BLOCK.findall(text):
        header = FILE_BLOCK.match(code)
        if lang in ("python", "toml") and header:
            files[header.group(1)] = code
    return files


def _install_like_pip(project: Path, site: Path) -> None:
    """Put the example package's module and metadata (with its ``scrm`` entry point) in ``site``,
    as ``pip install`` would, so that the plugin is found the way a partner's is."""
    meta = tomllib.loads((project / "pyproject.toml").read_text("utf-8"))["project"]
    modules = {value.split(":")[0] for value in meta["entry-points"]["scrm"].values()}
    for module in modules:
        shutil.copy(project / f"{module}.py", site / f"{module}.py")
    dist_info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n", "utf-8"
    )
    entry_points = "".join(f"{k} = {v}\n" for k, v in meta["entry-points"]["scrm"].items())
    (dist_info / "entry_points.txt").write_text(f"[scrm]\n{entry_points}", "utf-8")
    (dist_info / "RECORD").write_text("", "utf-8")


@pytest.mark.slow
def test_the_plugin_guide_testing_section_runs_as_printed(tmp_path: Path) -> None:
    """The guide's package (pyproject, plugin, tests) is built from its code blocks, installed,
    and its tests run with pytest in a fresh process and folder: only what socialcrm installs
    (its pytest plugin included) makes them pass."""
    files = _file_blocks(PLUGINS_MD.read_text("utf-8"))
    assert {"pyproject.toml", "scrm_parrot.py"} <= set(files)
    assert {"tests/test_conformance.py", "tests/test_server.py"} <= set(files)
    project, site = tmp_path / "scrm-parrot", tmp_path / "site"
    site.mkdir()
    for name, code in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(code, "utf-8")
    for name, code in files.items():
        if name.startswith("tests/"):
            assert "socialcrm.server" not in code, f"{name} imports the server's internals"
    _install_like_pip(project, site)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout, run.stdout
    assert "warning" not in run.stdout, run.stdout


def _models_doc_script() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        "plugin_models_doc", ROOT / "scripts" / "plugin_models_doc.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_models_reference_matches_the_docstrings() -> None:
    script = _models_doc_script()
    guide = PLUGINS_MD.read_text("utf-8")
    expected = script.render_guide(guide, (ROOT / "plugins" / "models.py").read_text("utf-8"))
    assert guide == expected, (
        "docs/plugins.md's models reference is stale: run scripts/plugin_models_doc.py"
    )
    reference = _section(guide, "## The normalized models")
    for name in ("InboundEvent", "Profile", "IdentityRef", "StoredInteraction", "TextAnalysis"):
        assert f"### `{name}`" in reference
    assert "`following: bool | None = None`" in reference


def test_an_undocumented_model_field_is_refused() -> None:
    script = _models_doc_script()
    source = '@dataclass\nclass Thing:\n    """A thing."""\n\n    name: str\n'
    with pytest.raises(script.Undocumented, match=r"Thing\.name"):
        script.render_reference(source)
