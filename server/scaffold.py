"""``scrm plugins new``: a ready channel-plugin package, from the templates in
``server/templates/plugin/`` (package data).

The package installs with ``pip install -e`` and its tests (socialcrm's conformance kit on
the generated channel) pass at once; the partner then replaces the protocol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
MAX_NAME = 40

TEMPLATES: dict[str, str] = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "channel.py.tmpl": "{module}.py",
    "test_channel.py.tmpl": "tests/test_{module}.py",
}
"""Template file → where it goes in the package (``{module}`` is the module's name)."""


class ScaffoldError(ValueError):
    """The package cannot be written: a bad name, or its folder is taken."""


@dataclass(frozen=True, slots=True)
class PluginNames:
    """The names a channel plugin package derives from its channel's name."""

    name: str
    """The channel's name: ``line``."""
    dist: str
    """The distribution: ``scrm-line``."""
    module: str
    """The importable module: ``scrm_line``."""
    class_name: str
    """The channel class: ``LineChannel``."""
    title: str
    """Shown to operators: ``Line``."""


def plugin_names(name: str) -> PluginNames:
    """The names of the package for channel ``name``; raises ``ScaffoldError`` if ``name``
    cannot be a channel's name (lower-case letters and digits, single dashes or
    underscores between them)."""
    if len(name) > MAX_NAME or not CHANNEL_NAME.match(name):
        raise ScaffoldError(
            f"invalid channel name {name!r}: use lower-case letters and digits, with single "
            f"dashes or underscores between them, at most {MAX_NAME} characters, starting "
            "with a letter (line, my-chat)"
        )
    words = re.split(r"[-_]", name)
    return PluginNames(
        name=name,
        dist="scrm-" + "-".join(words),
        module="scrm_" + "_".join(words),
        class_name="".join(word.capitalize() for word in words) + "Channel",
        title=" ".join(word.capitalize() for word in words),
    )


def write_plugin(names: PluginNames, parent: Path) -> Path:
    """Write the package for ``names`` into ``parent/<dist>/`` and return that folder.

    Refuses (``ScaffoldError``) when the folder exists, so nothing of the partner's is
    overwritten.
    """
    target = parent / names.dist
    if target.exists():
        raise ScaffoldError(f"{target} already exists: choose another folder or remove it")
    templates = resources.files("socialcrm.server") / "templates" / "plugin"
    values = {
        "name": names.name,
        "dist": names.dist,
        "module": names.module,
        "class_name": names.class_name,
        "title": names.title,
    }
    rendered = {
        target / where.format(module=names.module): Template(
            (templates / source).read_text(encoding="utf-8")
        ).substitute(values)
        for source, where in TEMPLATES.items()
    }
    for path, text in rendered.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
