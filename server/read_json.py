"""SQL expressions that write values the way the GraphQL layer writes them (PostgreSQL only).

``socialcrm.resolvers.compiled`` answers some queries with one statement that builds the JSON
response in PostgreSQL. These expressions make that JSON equal to what the resolvers produce: the
same global ids and cursors, timestamps as Python's ``isoformat()``, enum values by their GraphQL
names. Constants are written into the SQL text, not bound, so a statement's text depends
only on the query's shape and PostgreSQL can reuse its prepared form.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Numeric, Text, and_, case, cast, func, literal_column, null
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement

MAX_OBJECT_KEYS = 50
"""``json_build_object`` takes at most 100 arguments: 50 keys and their values."""

_KEY = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


def sql_string(value: str) -> ColumnElement[str]:
    """A string constant in the SQL text (quotes doubled)."""
    return literal_column("'" + value.replace("'", "''") + "'", Text)


def json_object(pairs: Sequence[tuple[str, Any]]) -> ColumnElement[Any]:
    """``json_build_object`` of (GraphQL response key, value) pairs, keys in order."""
    if len(pairs) > MAX_OBJECT_KEYS:
        raise ValueError(f"at most {MAX_OBJECT_KEYS} keys per object")
    args: list[Any] = []
    for key, value in pairs:
        if not _KEY.match(key):
            raise ValueError(f"{key!r} is not a GraphQL name")
        args += [sql_string(key), value]
    return func.json_build_object(*args, type_=JSON)


def json_list(element: Any, order_by: Sequence[Any], where: Any = None) -> ColumnElement[Any]:
    """``json_agg`` of ``element`` in ``order_by`` order over the rows ``where`` holds;
    ``[]`` (not null) for no rows."""
    aggregated: Any = func.json_agg(aggregate_order_by(element, *order_by), type_=JSON)
    if where is not None:
        aggregated = aggregated.filter(where)
    return func.coalesce(aggregated, literal_column("'[]'::json", JSON), type_=JSON)


def iso_timestamp(column: Any) -> ColumnElement[str]:
    """A ``timestamptz`` as ``datetime.isoformat()`` writes an aware UTC datetime.

    Like Python, the fraction of a second is written only when it is not zero.
    """
    utc = func.timezone(sql_string("UTC"), column)
    micros = cast(func.date_part(sql_string("microseconds"), column), BigInteger)
    fraction = case(
        (micros.op("%")(literal_column("1000000")) == literal_column("0"), sql_string("")),
        else_=func.to_char(utc, sql_string(".US")),
    )
    return case(
        (column.is_(None), null()),
        else_=func.to_char(utc, sql_string('YYYY-MM-DD"T"HH24:MI:SS'))
        .op("||")(fraction)
        .op("||")(sql_string("+00:00")),
    )


def float_text(column: Any) -> ColumnElement[str]:
    """A ``double precision`` as Python's ``str(float)``: ``12.0`` and ``-0.0``, not
    PostgreSQL's ``12`` and ``-0``. (Fractions of 1e15 and more, far outside any score, are
    written in PostgreSQL's exponent form.)"""
    whole = and_(column == func.trunc(column), func.abs(column) < literal_column("1e16"))
    return case(
        # Zero first: numeric has no negative zero, float8's own text keeps the sign.
        (column == literal_column("0"), cast(column, Text).op("||")(sql_string(".0"))),
        (whole, cast(cast(func.trunc(column), Numeric), Text).op("||")(sql_string(".0"))),
        else_=cast(column, Text),
    )


def json_float(column: Any) -> ColumnElement[Any]:
    """A ``double precision`` as a JSON number the way Python's ``json`` writes a float
    (``12.0``, not ``12``); null stays null. NaN and infinities are no JSON: the statement
    fails, and the resolvers report the error as they do for such a value."""
    return cast(float_text(column), JSON)


def base64_text(text: Any, *, urlsafe: bool) -> ColumnElement[str]:
    """Base64 of ``text``'s UTF-8 bytes, on one line (PostgreSQL breaks lines at 76)."""
    encoded = func.encode(func.convert_to(text, sql_string("UTF8")), sql_string("base64"))
    if urlsafe:
        return func.translate(encoded, literal_column("E'+/\\n'"), sql_string("-_"))
    return func.translate(encoded, literal_column("E'\\n'"), sql_string(""))


def global_id(type_name: str, pk: Any) -> ColumnElement[str]:
    """``socialcrm.schema.node.to_global_id(type_name, pk)``."""
    return base64_text(sql_string(f"{type_name}:").op("||")(cast(pk, Text)), urlsafe=False)


def cursor(kind: str, *values: Any, separator: str) -> ColumnElement[str]:
    """``socialcrm.resolvers.pagination.encode_cursor(kind, *values)`` of text ``values``, whose
    parts are joined by ``separator``."""
    text: Any = sql_string(kind)
    for value in values:
        text = text.op("||")(sql_string(separator)).op("||")(cast(value, Text))
    return base64_text(text, urlsafe=True)


def enum_name(column: Any, enum_type: type[enum.Enum], default: enum.Enum) -> ColumnElement[str]:
    """The GraphQL name of the member whose value is stored in ``column``; ``default``'s
    for values the enum does not know (as ``socialcrm.schema.enums.enum_of``)."""
    return case(
        *(
            (column == sql_string(str(member.value)), sql_string(member.name))
            for member in enum_type
        ),
        else_=sql_string(default.name),
    )
