"""Safe XML for WeChat payloads: parse to plain dicts, build replies with CDATA.

WeChat's XML is flat (``<xml><Field>value</Field>…</xml>``) with a few nested lists
(``MemChangeList/Item``, ``Articles/item``). Parsing forbids DTDs, entities and external
references outright: a payload with a DOCTYPE is refused, never expanded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from socialcrm.plugins import InvalidPayload, read_xml

# Characters XML 1.0 cannot carry at all; an operator's reply text may contain them.
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def parse_xml(body: bytes) -> dict[str, Any]:
    """Parse a WeChat XML document into a dict; raise ``InvalidPayload`` on anything unsafe
    (a DOCTYPE, entities, elements nested past the contract's ``MAX_NESTING``).

    Leaf elements become strings (empty for ``<X/>``); elements with children become dicts;
    a tag repeated under one parent becomes a list.
    """
    root = read_xml(body)
    if root.tag != "xml":
        raise InvalidPayload(f"unexpected XML root <{root.tag}>", code="XML_MALFORMED")
    value = _element_value(root)
    return value if isinstance(value, dict) else {}


def _element_value(element: Element) -> str | dict[str, Any]:
    # Recursion is safe here: read_xml bounds the nesting.
    children = list(element)
    if not children:
        return element.text or ""
    result: dict[str, Any] = {}
    for child in children:
        value = _element_value(child)
        if child.tag in result:
            previous = result[child.tag]
            if isinstance(previous, list):
                previous.append(value)
            else:
                result[child.tag] = [previous, value]
        else:
            result[child.tag] = value
    return result


def as_list(value: Any) -> list[Any]:
    """A parsed field that may hold one item or several, always as a list."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def cdata(text: str) -> str:
    """``text`` wrapped in CDATA, safe for any content (``]]>`` split, invalid chars dropped)."""
    clean = _INVALID_XML_CHARS.sub("", text)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def build_xml(fields: Mapping[str, Any], root: str = "xml") -> bytes:
    """Build a WeChat XML document: str values as CDATA, numbers bare, dicts nested,
    lists as repeated ``<item>`` elements (the layout of ``Articles``)."""
    return f"<{root}>{_build_fields(fields)}</{root}>".encode()


def _build_fields(fields: Mapping[str, Any]) -> str:
    parts = []
    for name, value in fields.items():
        if value is None:
            continue
        parts.append(f"<{name}>{_build_value(value)}</{name}>")
    return "".join(parts)


def _build_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return _build_fields(value)
    if isinstance(value, list):
        return "".join(f"<item>{_build_value(item)}</item>" for item in value)
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return cdata(str(value))
