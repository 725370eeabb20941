"""Reading webhook bodies safely: JSON and XML with bounded nesting.

Python's parsers, and any code that walks what they return recursively, fail with
``RecursionError`` on a body nested a few thousand levels deep, which a hostile sender can
post without any credentials. These readers refuse such bodies with ``InvalidPayload`` (HTTP
400, one line of reason), and XML with a DOCTYPE, entities or external references too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from socialcrm.plugins.channel import InvalidPayload

MAX_NESTING = 64
"""The deepest nesting a webhook body may have by default. Platforms' payloads nest a few
levels; this leaves ample room while keeping any recursive walk of the result safe."""


def read_json(
    data: bytes | str,
    *,
    max_depth: int = MAX_NESTING,
    parse_float: Callable[[str], Any] | None = None,
) -> Any:
    """``data`` decoded as JSON; ``InvalidPayload`` when unreadable or nested past
    ``max_depth`` arrays and objects (code ``TOO_DEEP``).

    ``parse_float`` is passed to ``json.loads`` (``decimal.Decimal`` keeps ids exact).
    """
    try:
        value = json.loads(data, parse_float=parse_float)
    except RecursionError:
        raise _too_deep("JSON", max_depth) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPayload(f"the body is not valid JSON: {exc}", code="INVALID_JSON") from exc
    if _deeper_than(value, max_depth, _json_children):
        raise _too_deep("JSON", max_depth)
    return value


def read_xml(data: bytes | str, *, max_depth: int = MAX_NESTING) -> Element:
    """The root element of ``data``; ``InvalidPayload`` for XML that is malformed, has a
    DOCTYPE, entity declarations or external references, or nests elements past
    ``max_depth`` (code ``TOO_DEEP``)."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden as exc:
        raise InvalidPayload("XML with a DOCTYPE is refused", code="XML_DTD") from exc
    except defusedxml.EntitiesForbidden as exc:
        raise InvalidPayload("XML with entity declarations is refused", code="XML_ENTITY") from exc
    except defusedxml.DefusedXmlException as exc:
        raise InvalidPayload("XML with external references is refused", code="XML_UNSAFE") from exc
    except (ParseError, ValueError) as exc:
        raise InvalidPayload(
            f"the body is not well-formed XML: {exc}", code="XML_MALFORMED"
        ) from exc
    if _deeper_than(root, max_depth, list):
        raise _too_deep("XML", max_depth)
    return root


def _too_deep(kind: str, max_depth: int) -> InvalidPayload:
    return InvalidPayload(f"the {kind} nests deeper than {max_depth} levels", code="TOO_DEEP")


def _json_children(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        return value.values()
    if isinstance(value, list):
        return value
    return ()


def _deeper_than(root: Any, limit: int, children: Callable[[Any], Iterable[Any]]) -> bool:
    """Whether nodes nest more than ``limit`` levels under ``root`` (walked without recursion).

    Scalars do not count as a level: ``[1]`` and ``<a>x</a>`` are one level deep.
    """
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, level = stack.pop()
        below = list(children(node))
        if not below and not isinstance(node, dict | list | Element):
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in below)
    return False
