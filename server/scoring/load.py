"""The batch's reads: a workspace's customers, interactions, identities and network, as arrays.

Each read is one set-based statement (the interactions are aggregated per customer by the
database, with the decay computed there by ``exp``), streamed into numpy arrays. Times
travel as seconds since the epoch (float), a missing one as NaN.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from socialcrm.server.scoring.formulas import (
    LN2,
    MOMENTS,
    SCORE_NAMES,
    SECONDS_PER_DAY,
    SUMS,
    Measures,
)
from socialcrm.server.scoring.settings import ScoringParameters
from socialcrm.server.scoring.stages import STAGES

Array = npt.NDArray[np.float64]
Progress = Callable[[str, int, int], Awaitable[None] | None]
"""``progress(phase, done, total)``; it may be a coroutine function."""

CHUNK_ROWS = 50_000
"""Rows fetched at a time: the arrays grow by chunks, never a list of every row."""

MAX_AUDIENCE = 2**31 - 1
"""``score.audience`` is a 32-bit integer."""


@dataclass(slots=True)
class Dialect:
    """The few expressions PostgreSQL and SQLite spell differently."""

    name: str

    def epoch(self, column: str) -> str:
        """Seconds since the epoch of a timestamp column, as a float."""
        if self.name == "postgresql":
            # date_part answers a float directly (EXTRACT computes a numeric first).
            return f"date_part('epoch', {column})"
        # SQLite keeps UTC timestamps as text, "YYYY-MM-DD HH:MM:SS.ffffff": whole seconds
        # from strftime, the fraction from the text itself (julianday would round it).
        return f"(CAST(strftime('%s', {column}) AS REAL) + CAST(substr({column}, 20) AS REAL))"

    def greatest(self, a: str, b: str) -> str:
        """The larger of two numbers."""
        return f"GREATEST({a}, {b})" if self.name == "postgresql" else f"MAX({a}, {b})"

    def followers(self) -> str:
        """The numeric ``followers_count`` of an identity's profile, or NULL."""
        if self.name == "postgresql":
            return (
                "CASE WHEN jsonb_typeof(profile -> 'followers_count') = 'number' "
                "THEN CAST(profile ->> 'followers_count' AS DOUBLE PRECISION) END"
            )
        return (
            "CASE WHEN json_type(profile, '$.followers_count') IN ('integer', 'real') "
            "THEN json_extract(profile, '$.followers_count') END"
        )

    def true(self, column: str) -> str:
        """1 when a boolean column is true, else 0."""
        return f"CASE WHEN {column} THEN 1 ELSE 0 END"


@dataclass(slots=True)
class Snapshot:
    """What the batch read of one workspace, aligned on ``ids`` (sorted customer ids)."""

    ids: npt.NDArray[np.int64]
    stage: npt.NDArray[np.int8]
    """The stage each customer had when read (code into STAGES; -1 for an unknown name)."""
    manual: npt.NDArray[np.bool_]
    old: dict[str, Array]
    """The six scores as stored when read (0 for customers without a score row)."""
    version: Array
    """``score.updated_at`` when read, as epoch seconds (NaN: no score row)."""
    measures: Measures
    audience: Array
    sources: npt.NDArray[np.int64]
    """Edges as positions into ``ids``."""
    targets: npt.NDArray[np.int64]
    edge_kind_weights: Array
    edge_counts: Array


async def tell(progress: Progress, phase: str, done: int, total: int) -> None:
    """Report progress (awaiting a coroutine function's answer)."""
    answer = progress(phase, done, total)
    if inspect.isawaitable(answer):
        await answer


async def fetch_matrix(
    connection: AsyncConnection, sql: str, params: dict[str, Any], width: int
) -> Array:
    """Every row of ``sql`` (``width`` numeric columns) as a float matrix, NULL as NaN.

    PostgreSQL sends the rows as a binary COPY that numpy reads in place; SQLite's rows
    are streamed by chunks.
    """
    if connection.dialect.name == "postgresql":
        return await _copy_matrix(connection, sql, params, width)
    chunks: list[Array] = []
    result = await connection.stream(text(sql), params)
    async for rows in result.partitions(CHUNK_ROWS):
        chunks.append(np.array([tuple(row) for row in rows], dtype=np.float64).reshape(-1, width))
    if not chunks:
        return np.zeros((0, width))
    return np.concatenate(chunks)


def number_param(name: str) -> str:
    """A bound parameter typed as a float (PostgreSQL cannot infer it inside CASE or ``-``)."""
    return f"CAST(:{name} AS DOUBLE PRECISION)"


COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
COPY_HEADER = len(COPY_SIGNATURE) + 8
"""A binary COPY starts with the signature, 32-bit flags and a 32-bit extension length."""


async def _copy_matrix(
    connection: AsyncConnection, sql: str, params: dict[str, Any], width: int
) -> Array:
    """``COPY (…) TO STDOUT (FORMAT binary)`` of the rows as float8 with NaN for NULL: every
    field then has the same size, so the stream is a fixed-layout numpy record array."""
    names = [f"c{number}" for number in range(width)]
    wrapped = (
        "SELECT "
        + ", ".join(f"COALESCE(CAST({name} AS DOUBLE PRECISION), 'NaN')" for name in names)
        + f" FROM ({sql}) AS rows ({', '.join(names)})"
    )
    compiled = text(wrapped).compile(dialect=connection.dialect)
    arguments = [params[name] for name in compiled.positiontup or ()]
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    parts: list[bytes] = []

    async def take(part: bytes) -> None:
        parts.append(part)

    await driver.copy_from_query(compiled.string, *arguments, output=take, format="binary")
    data = b"".join(parts)
    parts.clear()
    if not data.startswith(COPY_SIGNATURE):
        raise ValueError("not a binary COPY stream")
    layout = np.dtype(
        [("fields", ">i2")]
        + [item for name in names for item in ((f"{name}_size", ">i4"), (name, ">f8"))]
    )
    count = (len(data) - COPY_HEADER - 2) // layout.itemsize
    records = np.frombuffer(data, dtype=layout, count=count, offset=COPY_HEADER)
    if count and not (records["fields"] == width).all():
        raise ValueError("unexpected row layout in a binary COPY stream")
    matrix = np.empty((count, width))
    for number, name in enumerate(names):
        matrix[:, number] = records[name]
    return matrix


def weight_case(p: ScoringParameters, params: dict[str, Any]) -> str:
    """The SQL of an interaction's activity weight (``ScoringParameters.interaction_weight``),
    with the kinds and weights as bound parameters."""
    branches = []
    for number, (kind, weight) in enumerate(sorted(p.inbound_weights.items())):
        params[f"kind_{number}"] = kind
        params[f"weight_{number}"] = float(weight)
        branches.append(f"WHEN :kind_{number} THEN {number_param(f'weight_{number}')}")
    params["weight_other"] = p.inbound_weight("other")
    params["weight_outbound"] = float(p.outbound_weight)
    inbound = f"CASE kind {' '.join(branches)} ELSE {number_param('weight_other')} END"
    return (
        "CASE WHEN kind = 'delivery' THEN 0.0 "
        f"WHEN direction = 'inbound' THEN ({inbound}) "
        f"WHEN direction = 'outbound' THEN {number_param('weight_outbound')} ELSE 0.0 END"
    )


def rate_case(p: ScoringParameters, params: dict[str, Any]) -> str:
    """The SQL of a purchase currency's rate to the workspace currency (0: unknown)."""
    params["currency_home"] = p.currency
    branches = ["WHEN :currency_home THEN 1.0"]
    for number, (code, rate) in enumerate(sorted(p.exchange_rates.items())):
        if code == p.currency:
            continue
        params[f"currency_{number}"] = code
        params[f"rate_{number}"] = float(rate)
        branches.append(f"WHEN :currency_{number} THEN {number_param(f'rate_{number}')}")
    return f"CASE currency {' '.join(branches)} ELSE 0.0 END"


def activity_sql(d: Dialect, p: ScoringParameters, params: dict[str, Any]) -> str:
    """One aggregate over the workspace's interactions, grouped by customer."""
    occurred = d.epoch("occurred_at")
    params["lambda_recent"] = LN2 / (p.engagement_half_life_days * SECONDS_PER_DAY)
    params["lambda_baseline"] = LN2 / (p.baseline_half_life_days * SECONDS_PER_DAY)
    params["lambda_sentiment"] = LN2 / (p.sentiment_half_life_days * SECONDS_PER_DAY)
    mood = "direction = 'inbound' AND sentiment IS NOT NULL"
    recent = f"exp(-{number_param('lambda_recent')} * age)"
    baseline = f"exp(-{number_param('lambda_baseline')} * age)"
    fading = f"exp(-{number_param('lambda_sentiment')} * age)"
    complaint = "direction = 'inbound' AND is_complaint"
    return f"""
        SELECT customer_id,
          SUM(w * {recent}),
          SUM(w * {baseline}),
          SUM(CASE WHEN {mood} THEN sentiment * {fading} ELSE 0.0 END),
          SUM(CASE WHEN {mood} THEN {fading} ELSE 0.0 END),
          SUM(CASE WHEN direction = 'inbound' AND w > 0 THEN 1 ELSE 0 END),
          SUM(CASE WHEN direction = 'outbound' AND w > 0 THEN 1 ELSE 0 END),
          SUM(CASE WHEN {complaint} THEN 1 ELSE 0 END),
          SUM(CASE WHEN kind = 'purchase' THEN 1 ELSE 0 END),
          SUM(CASE WHEN kind = 'purchase' AND amount > 0 THEN amount * rate ELSE 0.0 END),
          MIN(t),
          MAX(CASE WHEN direction = 'inbound' AND w > 0 THEN t END),
          MIN(CASE WHEN kind = 'purchase' THEN t END),
          MAX(CASE WHEN kind = 'purchase' THEN t END),
          MAX(CASE WHEN {complaint} THEN t END),
          SUM(CASE WHEN kind = 'unfollow' THEN 1 ELSE 0 END)
        FROM (
          SELECT customer_id, kind, direction, sentiment, is_complaint, amount,
            {occurred} AS t,
            {d.greatest(f"{number_param('now')} - {occurred}", "0.0")} AS age,
            {weight_case(p, params)} AS w,
            {rate_case(p, params)} AS rate
          FROM interaction WHERE workspace_id = :workspace_id
        ) AS facts
        GROUP BY customer_id
    """


ACTIVITY_WIDTH = 16


async def read_workspace(
    connection: AsyncConnection,
    workspace_id: int,
    now: float,
    p: ScoringParameters,
    progress: Progress,
) -> Snapshot:
    """Read everything the batch needs about a workspace, in an order that lets the write
    phase tell which customers changed meanwhile: the score versions come first."""
    d = Dialect(connection.dialect.name)
    params: dict[str, Any] = {"workspace_id": workspace_id, "now": now}
    stage_case = " ".join(f"WHEN '{name}' THEN {code}" for code, name in enumerate(STAGES))
    scores = ", ".join(f"s.{name}" for name in SCORE_NAMES)
    customers = await fetch_matrix(
        connection,
        f"""
        SELECT c.id, {d.epoch("c.created_at")},
          CASE c.lifecycle_stage {stage_case} ELSE -1 END,
          CASE WHEN c.stage_set_by IS NULL THEN 0 ELSE 1 END,
          {scores}, {d.epoch("s.updated_at")}
        FROM customer AS c LEFT JOIN score AS s ON s.customer_id = c.id
        WHERE c.workspace_id = :workspace_id AND c.merged_into_id IS NULL
        ORDER BY c.id
        """,
        params,
        5 + len(SCORE_NAMES),
    )
    # Sorted by id for the searches below (the statement orders them; a COPY may not keep it).
    customers = customers[np.argsort(customers[:, 0], kind="stable")]
    n = len(customers)
    await tell(progress, "read", 1, 4)
    ids = customers[:, 0].astype(np.int64)
    m = Measures.empty(n)
    m.created = customers[:, 1].copy()
    old = {name: np.nan_to_num(customers[:, 4 + i], nan=0.0) for i, name in enumerate(SCORE_NAMES)}
    m.influence = old["influence"].copy()
    activity = await fetch_matrix(connection, activity_sql(d, p, params), params, ACTIVITY_WIDTH)
    await tell(progress, "read", 2, 4)
    _place_activity(m, ids, activity)
    identities = await fetch_matrix(
        connection,
        f"""
        SELECT customer_id, MAX({d.followers()}), MAX({d.true("following")})
        FROM identity WHERE workspace_id = :workspace_id GROUP BY customer_id
        """,
        params,
        3,
    )
    await tell(progress, "read", 3, 4)
    audience = np.zeros(n)
    rows, found = _positions(ids, identities[:, 0])
    audience[rows] = np.clip(np.nan_to_num(identities[found, 1], nan=0.0), 0, MAX_AUDIENCE)
    following = np.zeros(n, dtype=np.bool_)
    following[rows] = np.nan_to_num(identities[found, 2], nan=0.0) > 0
    m.unfollowed &= ~following
    edge_params: dict[str, Any] = {"workspace_id": workspace_id}
    branches = []
    for number, (kind, weight) in enumerate(sorted(p.edge_weights.items())):
        edge_params[f"edge_{number}"] = kind
        edge_params[f"edge_weight_{number}"] = float(weight)
        branches.append(f"WHEN :edge_{number} THEN {number_param(f'edge_weight_{number}')}")
    edges = await fetch_matrix(
        connection,
        f"""
        SELECT source_id, target_id, CASE kind {" ".join(branches)} ELSE 0.0 END, count
        FROM relationship WHERE workspace_id = :workspace_id
        """,
        edge_params,
        4,
    )
    await tell(progress, "read", 4, 4)
    source_rows, source_found = _positions(ids, edges[:, 0])
    target_rows, target_found = _positions(ids, edges[:, 1])
    both = source_found & target_found
    # Positions of the edges whose two ends are current customers.
    source_at = np.full(len(edges), -1, dtype=np.int64)
    target_at = np.full(len(edges), -1, dtype=np.int64)
    source_at[source_found] = source_rows
    target_at[target_found] = target_rows
    return Snapshot(
        ids=ids,
        stage=customers[:, 2].astype(np.int8),
        manual=customers[:, 3] > 0,
        old=old,
        version=customers[:, 4 + len(SCORE_NAMES)].copy(),
        measures=m,
        audience=audience,
        sources=source_at[both],
        targets=target_at[both],
        edge_kind_weights=edges[both, 2],
        edge_counts=edges[both, 3],
    )


def _positions(
    ids: npt.NDArray[np.int64], wanted: Array
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Positions in the sorted ``ids`` of the ``wanted`` ids that are there, and which are."""
    keys = wanted.astype(np.int64)
    at = np.searchsorted(ids, keys)
    inside = at < len(ids)
    found = np.zeros(len(keys), dtype=np.bool_)
    found[inside] = ids[at[inside]] == keys[inside]
    return at[found], found


def _place_activity(m: Measures, ids: npt.NDArray[np.int64], activity: Array) -> None:
    rows, found = _positions(ids, activity[:, 0])
    a = activity[found]
    for number, name in enumerate((*SUMS, *MOMENTS), start=1):
        values = a[:, number]
        if name in SUMS:
            values = np.nan_to_num(values, nan=0.0)
        getattr(m, name)[rows] = values
    m.unfollowed[rows] = a[:, 15] > 0
