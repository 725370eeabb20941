"""Write the field reference of the normalized models into docs/plugins.md.

The reference is generated from the docstrings of ``plugins/models.py`` (each class's, and
the string under each field or enum member), so the guide says what the code says. It
replaces the text between the two ``models-reference`` markers of the guide; a field or
member without a docstring is an error. ``tests/test_docs.py`` fails when the guide differs
from what this script would write.

    .venv/bin/python scripts/plugin_models_doc.py          # rewrite the section
    .venv/bin/python scripts/plugin_models_doc.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "plugins" / "models.py"
GUIDE = ROOT / "docs" / "plugins.md"
START = "<!-- models-reference: start (written by scripts/plugin_models_doc.py) -->"
END = "<!-- models-reference: end -->"
ENUM_BASES = {"StrEnum", "Enum", "IntEnum"}


class Undocumented(ValueError):
    """A model, field or enum member has no docstring."""


def _markdown(docstring: str) -> str:
    """A docstring as Markdown: reST literals become code spans, lines join into paragraphs."""
    paragraphs = inspect.cleandoc(docstring).split("\n\n")
    text = "\n\n".join(" ".join(p.split()) for p in paragraphs)
    return text.replace("``", "`")


def _default(value: ast.expr | None) -> str:
    if value is None:
        return ""
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "field"
        and value.keywords
        and value.keywords[0].arg == "default_factory"
    ):
        factory = ast.unparse(value.keywords[0].value)
        return " = " + {"list": "[]", "dict": "{}"}.get(factory, f"{factory}()")
    return f" = {ast.unparse(value)}"


def _members(cls: ast.ClassDef) -> list[tuple[ast.stmt, str]]:
    """Each field or member statement of ``cls`` with the docstring that follows it."""
    found: list[tuple[ast.stmt, str]] = []
    body = cls.body
    for index, statement in enumerate(body):
        if not isinstance(statement, ast.AnnAssign | ast.Assign):
            continue
        following = body[index + 1] if index + 1 < len(body) else None
        doc = (
            following.value.value
            if isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
            else None
        )
        name = ast.unparse(
            statement.target if isinstance(statement, ast.AnnAssign) else statement.targets[0]
        )
        if doc is None:
            raise Undocumented(f"plugins/models.py: {cls.name}.{name} has no docstring")
        found.append((statement, doc))
    return found


def _render_class(cls: ast.ClassDef) -> str:
    doc = ast.get_docstring(cls)
    if not doc:
        raise Undocumented(f"plugins/models.py: {cls.name} has no docstring")
    lines = [f"### `{cls.name}`", "", _markdown(doc), ""]
    is_enum = any(
        isinstance(b, ast.Attribute | ast.Name) and ast.unparse(b).split(".")[-1] in ENUM_BASES
        for b in cls.bases
    )
    for statement, member_doc in _members(cls):
        if isinstance(statement, ast.Assign) and is_enum:
            name = ast.unparse(statement.targets[0])
            lines.append(
                f"- `{ast.literal_eval(statement.value)}` (`{name}`): {_markdown(member_doc)}"
            )
        elif isinstance(statement, ast.AnnAssign):
            name = ast.unparse(statement.target)
            signature = f"{name}: {ast.unparse(statement.annotation)}{_default(statement.value)}"
            lines.append(f"- `{signature}`: {_markdown(member_doc)}")
    return "\n".join(lines).rstrip() + "\n"


def render_reference(source: str) -> str:
    """The Markdown reference of every public class in the models module ``source``."""
    classes = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_")
    ]
    return "\n".join(_render_class(cls) for cls in classes)


def render_guide(guide: str, source: str) -> str:
    """``guide`` with the text between the markers replaced by the generated reference."""
    pattern = re.compile(re.escape(START) + r"\n.*?" + re.escape(END), re.S)
    if not pattern.search(guide):
        raise ValueError(f"docs/plugins.md has no {START!r} … {END!r} markers")
    block = f"{START}\n\n{render_reference(source)}\n{END}"
    return pattern.sub(lambda _: block, guide, count=1)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the guide's reference, or with ``--check`` only say whether it is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the guide is stale")
    args = parser.parse_args(argv)
    guide = GUIDE.read_text("utf-8")
    try:
        updated = render_guide(guide, MODELS.read_text("utf-8"))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.check:
        if updated != guide:
            print(
                "docs/plugins.md: the models reference is stale; run scripts/plugin_models_doc.py",
                file=sys.stderr,
            )
            return 1
        return 0
    GUIDE.write_text(updated, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
