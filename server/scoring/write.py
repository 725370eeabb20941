"""The batch's writes: scores, history and stage changes of a workspace, in bulk, in the
transaction the reads began.

Lock order, the same as the live path's: the customer row, then its score row. The batch
locks the workspace's customers with ``FOR NO KEY UPDATE SKIP LOCKED``, so it never waits
for a live update and never deadlocks with one: a customer whose row a live update holds
is skipped (the live update keeps it current), and so is a customer whose score row
changed since the batch read it (``score.updated_at``). A live update that starts during
the writes waits for the commit and then applies its interaction to the new scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import bindparam, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from socialcrm.server.scoring.formulas import SCORE_NAMES, Scores, deltas, moved
from socialcrm.server.scoring.history import history_upsert
from socialcrm.server.scoring.load import (
    Dialect,
    Progress,
    Snapshot,
    fetch_matrix,
    number_param,
    tell,
)
from socialcrm.server.scoring.settings import ScoringParameters
from socialcrm.server.scoring.stages import STAGES
from socialcrm.server.tables import Customer, Score, ScoringSettings, StageChange

Array = npt.NDArray[np.float64]

COPY_ROWS = 100_000
"""Rows per COPY into the staging table (PostgreSQL)."""

score_table = Score.__table__  # type: ignore[attr-defined]
customer_table = Customer.__table__  # type: ignore[attr-defined]
stage_change_table = StageChange.__table__  # type: ignore[attr-defined]
settings_table = ScoringSettings.__table__  # type: ignore[attr-defined]

FLOAT_COLUMNS = (
    *SCORE_NAMES,
    "activity_recent",
    "activity_baseline",
    "sentiment_sum",
    "sentiment_weight",
    "purchase_total",
    "centrality",
)
COUNT_COLUMNS = ("inbound_count", "outbound_count", "complaint_count", "purchase_count", "audience")
TIME_COLUMNS = {
    "first_seen_at": "first_seen",
    "last_inbound_at": "last_inbound",
    "first_purchase_at": "first_purchase",
    "last_purchase_at": "last_purchase",
    "last_complaint_at": "last_complaint",
}
"""Score columns holding times, and the measure each comes from."""


@dataclass(slots=True)
class Computed:
    """What the batch computed for every customer of its snapshot."""

    scores: Scores
    centrality: Array


@dataclass(slots=True)
class Written:
    """What the write phase changed."""

    customers: int = 0
    skipped: int = 0
    history: int = 0
    stage_changes: list[tuple[int, str, str]] = field(default_factory=list)
    """(customer id, from, to) of each stage the rules moved."""
    announced: list[int] = field(default_factory=list)
    """Positions (into the snapshot) of the customers to announce on the bus."""
    positions: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Positions of the customers written."""
    stage_now: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    """Each customer's stage before the write, as read under the lock."""


async def write_workspace(
    connection: AsyncConnection,
    workspace_id: int,
    snapshot: Snapshot,
    computed: Computed,
    now: datetime,
    wall: datetime,
    p: ScoringParameters,
    progress: Progress,
) -> Written:
    """Lock, check versions, write; the caller commits."""
    d = Dialect(connection.dialect.name)
    await _touch_settings(connection, d, workspace_id, wall)
    locked = await _lock_customers(connection, d, workspace_id)
    await tell(progress, "write", 1, 5)
    current = await fetch_matrix(
        connection,
        f"SELECT customer_id, {d.epoch('updated_at')} FROM score "
        "WHERE workspace_id = :workspace_id",
        {"workspace_id": workspace_id},
        2,
    )
    ids = snapshot.ids
    n = len(ids)
    version_now = np.full(n, np.nan)
    at = np.searchsorted(ids, current[:, 0].astype(np.int64))
    inside = at < n
    known = np.zeros(len(current), dtype=np.bool_)
    known[inside] = ids[at[inside]] == current[inside, 0].astype(np.int64)
    version_now[at[known]] = current[known, 1]
    unchanged = (version_now == snapshot.version) | (
        np.isnan(version_now) & np.isnan(snapshot.version)
    )
    is_locked = np.zeros(n, dtype=np.bool_)
    lock_at = np.searchsorted(ids, locked[:, 0].astype(np.int64))
    lock_inside = lock_at < n
    lock_known = np.zeros(len(locked), dtype=np.bool_)
    lock_known[lock_inside] = ids[lock_at[lock_inside]] == locked[lock_inside, 0].astype(np.int64)
    is_locked[lock_at[lock_known]] = True
    stage_now = snapshot.stage.copy()
    manual_now = snapshot.manual.copy()
    stage_now[lock_at[lock_known]] = locked[lock_known, 1].astype(np.int8)
    manual_now[lock_at[lock_known]] = locked[lock_known, 2] > 0
    writable = is_locked & unchanged
    positions = np.flatnonzero(writable)
    scores = computed.scores
    new = {name: getattr(scores, name) for name in SCORE_NAMES}
    move = deltas(snapshot.old, new)
    history = writable & moved(move, p.min_delta)
    stage_moves = writable & ~manual_now & (scores.stage != stage_now)
    loud = writable & (stage_moves | moved(move, p.announce_min_delta))
    written = Written(
        customers=len(positions),
        skipped=n - len(positions),
        history=int(history.sum()),
        positions=positions,
        announced=np.flatnonzero(loud).tolist(),
        stage_now=stage_now,
    )
    for position in np.flatnonzero(stage_moves).tolist():
        before = int(stage_now[position])
        written.stage_changes.append(
            (
                int(ids[position]),
                STAGES[before] if 0 <= before < len(STAGES) else "exploration",
                STAGES[int(scores.stage[position])],
            )
        )
    columns = _columns(snapshot, computed, positions)
    if d.name == "postgresql":
        await _write_postgresql(
            connection,
            workspace_id,
            ids,
            positions,
            columns,
            history,
            stage_moves,
            stage_now,
            scores,
            now,
            wall,
            progress,
        )
    else:
        await _write_sqlite(
            connection,
            workspace_id,
            ids,
            positions,
            columns,
            history,
            written,
            scores,
            now,
            wall,
            progress,
        )
    return written


async def _touch_settings(
    connection: AsyncConnection, d: Dialect, workspace_id: int, wall: datetime
) -> None:
    """Set ``rescored_at`` first: on SQLite the first write takes the database's write lock,
    so everything read after it is current."""
    insert = postgresql.insert if d.name == "postgresql" else sqlite.insert
    statement = insert(settings_table).values(
        workspace_id=workspace_id, settings={}, updated_at=wall, rescored_at=wall
    )
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=["workspace_id"], set_={"rescored_at": statement.excluded.rescored_at}
        )
    )


async def _lock_customers(connection: AsyncConnection, d: Dialect, workspace_id: int) -> Array:
    """Lock the workspace's customers that nobody else holds; their current stage and
    whether it was set by hand (a person may have set it since the read)."""
    stage_case = " ".join(f"WHEN '{name}' THEN {code}" for code, name in enumerate(STAGES))
    lock = " FOR NO KEY UPDATE SKIP LOCKED" if d.name == "postgresql" else ""
    return await fetch_matrix(
        connection,
        f"""
        SELECT id, CASE lifecycle_stage {stage_case} ELSE -1 END,
          CASE WHEN stage_set_by IS NULL THEN 0 ELSE 1 END
        FROM customer WHERE workspace_id = :workspace_id AND merged_into_id IS NULL{lock}
        """,
        {"workspace_id": workspace_id},
        3,
    )


def _columns(
    snapshot: Snapshot, computed: Computed, positions: npt.NDArray[np.int64]
) -> dict[str, Array]:
    """The score row values of the customers at ``positions``, by score column."""
    m = snapshot.measures
    scores = computed.scores
    columns: dict[str, Array] = {name: getattr(scores, name)[positions] for name in SCORE_NAMES}
    for name in ("activity_recent", "activity_baseline", "sentiment_sum", "sentiment_weight"):
        columns[name] = getattr(m, name)[positions]
    columns["purchase_total"] = m.purchase_total[positions]
    columns["centrality"] = computed.centrality[positions]
    for name in ("inbound_count", "outbound_count", "complaint_count", "purchase_count"):
        columns[name] = getattr(m, name)[positions]
    columns["audience"] = snapshot.audience[positions]
    for column, measure in TIME_COLUMNS.items():
        columns[column] = getattr(m, measure)[positions]
    columns["unfollowed"] = m.unfollowed[positions].astype(np.float64)
    return columns


STAGING = "scoring_batch"


async def _write_postgresql(
    connection: AsyncConnection,
    workspace_id: int,
    ids: npt.NDArray[np.int64],
    positions: npt.NDArray[np.int64],
    columns: dict[str, Array],
    history: npt.NDArray[np.bool_],
    stage_moves: npt.NDArray[np.bool_],
    stage_now: npt.NDArray[np.int8],
    scores: Scores,
    now: datetime,
    wall: datetime,
    progress: Progress,
) -> None:
    """COPY into a staging table, then one statement per target table."""
    names = [*FLOAT_COLUMNS, *COUNT_COLUMNS, *TIME_COLUMNS, "unfollowed"]
    flags = ("moved", "stage_moves", "stage_from", "stage_to")
    await connection.execute(
        text(
            f"CREATE TEMPORARY TABLE {STAGING} (customer_id BIGINT, "
            + ", ".join(f"{name} DOUBLE PRECISION" for name in (*names, *flags))
            + ") ON COMMIT DROP"
        )
    )
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    values = [columns[name] for name in names] + [
        history[positions].astype(np.float64),
        stage_moves[positions].astype(np.float64),
        stage_now[positions].astype(np.float64),
        scores.stage[positions].astype(np.float64),
    ]
    for start in range(0, len(positions), COPY_ROWS):
        stop = start + COPY_ROWS
        records = zip(
            ids[positions[start:stop]].tolist(),
            *(column[start:stop].tolist() for column in values),
            strict=True,
        )
        await driver.copy_records_to_table(
            STAGING, records=records, columns=["customer_id", *names, *flags]
        )
    await tell(progress, "write", 2, 5)
    params = {
        "workspace_id": workspace_id,
        "now": now.timestamp(),
        "wall": wall.timestamp(),
        "day": now.date(),
    }
    targets = [
        "customer_id",
        "workspace_id",
        *FLOAT_COLUMNS,
        *COUNT_COLUMNS,
        *TIME_COLUMNS,
        "unfollowed",
        "measured_at",
        "updated_at",
    ]
    sources = [
        "customer_id",
        "CAST(:workspace_id AS BIGINT)",
        *FLOAT_COLUMNS,
        *(f"CAST({name} AS INTEGER)" for name in COUNT_COLUMNS),
        *(
            f"CASE WHEN {name} = 'NaN' THEN NULL ELSE to_timestamp({name}) END"
            for name in TIME_COLUMNS
        ),
        "unfollowed > 0",
        f"to_timestamp({number_param('now')})",
        f"to_timestamp({number_param('wall')})",
    ]
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in targets[2:])
    await connection.execute(
        text(
            f"INSERT INTO score ({', '.join(targets)}) SELECT {', '.join(sources)} "
            f"FROM {STAGING} ON CONFLICT (customer_id) DO UPDATE SET {updates}"
        ),
        params,
    )
    await tell(progress, "write", 3, 5)
    history_columns = ", ".join(SCORE_NAMES)
    await connection.execute(
        text(
            f"INSERT INTO score_history (workspace_id, customer_id, day, {history_columns}, "
            f"recorded_at) SELECT CAST(:workspace_id AS BIGINT), customer_id, CAST(:day AS DATE), "
            f"{history_columns}, to_timestamp({number_param('wall')}) FROM {STAGING} "
            "WHERE moved > 0 ON CONFLICT (customer_id, day) DO UPDATE SET "
            + ", ".join(f"{name} = EXCLUDED.{name}" for name in (*SCORE_NAMES, "recorded_at"))
        ),
        params,
    )
    await tell(progress, "write", 4, 5)
    name_of = " ".join(f"WHEN {code} THEN '{name}'" for code, name in enumerate(STAGES))
    await connection.execute(
        text(
            f"UPDATE customer SET lifecycle_stage = CASE CAST(b.stage_to AS INTEGER) {name_of} "
            f"END, stage_changed_at = to_timestamp({number_param('now')}) FROM {STAGING} AS b "
            "WHERE customer.id = b.customer_id AND b.stage_moves > 0"
        ),
        params,
    )
    await connection.execute(
        text(
            "INSERT INTO stage_change (workspace_id, customer_id, from_stage, to_stage, source, "
            "changed_at) SELECT CAST(:workspace_id AS BIGINT), customer_id, "
            f"COALESCE(CASE CAST(stage_from AS INTEGER) {name_of} END, 'exploration'), "
            f"CASE CAST(stage_to AS INTEGER) {name_of} END, 'rule', "
            f"to_timestamp({number_param('now')}) FROM {STAGING} WHERE stage_moves > 0"
        ),
        params,
    )
    await tell(progress, "write", 5, 5)


async def _write_sqlite(
    connection: AsyncConnection,
    workspace_id: int,
    ids: npt.NDArray[np.int64],
    positions: npt.NDArray[np.int64],
    columns: dict[str, Array],
    history: npt.NDArray[np.bool_],
    written: Written,
    scores: Scores,
    now: datetime,
    wall: datetime,
    progress: Progress,
) -> None:
    """The same writes as executemany batches (SQLite serializes writers anyway)."""
    rows: list[dict[str, Any]] = []
    lists = {name: column.tolist() for name, column in columns.items()}
    for number, customer_id in enumerate(ids[positions].tolist()):
        row: dict[str, Any] = {
            "customer_id": customer_id,
            "workspace_id": workspace_id,
            "measured_at": now,
            "updated_at": wall,
        }
        for name in FLOAT_COLUMNS:
            row[name] = lists[name][number]
        for name in COUNT_COLUMNS:
            row[name] = int(lists[name][number])
        for name in TIME_COLUMNS:
            seconds = lists[name][number]
            row[name] = None if seconds != seconds else _datetime(seconds)
        row["unfollowed"] = lists["unfollowed"][number] > 0
        rows.append(row)
    await tell(progress, "write", 2, 5)
    if rows:
        statement = sqlite.insert(score_table)
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=["customer_id"],
                set_={name: statement.excluded[name] for name in rows[0] if name != "customer_id"},
            ),
            rows,
        )
    await tell(progress, "write", 3, 5)
    day = now.date()
    history_rows = [
        _history(workspace_id, int(ids[position]), day, scores, position, wall)
        for position in np.flatnonzero(history).tolist()
    ]
    if history_rows:
        await connection.execute(history_upsert("sqlite"), history_rows)
    await tell(progress, "write", 4, 5)
    if written.stage_changes:
        await connection.execute(
            update(customer_table)
            .where(customer_table.c.id == bindparam("customer"))
            .values(lifecycle_stage=bindparam("stage"), stage_changed_at=bindparam("at")),
            [
                {"customer": customer_id, "stage": to, "at": now}
                for customer_id, _, to in written.stage_changes
            ],
        )
        await connection.execute(
            stage_change_table.insert(),
            [
                {
                    "workspace_id": workspace_id,
                    "customer_id": customer_id,
                    "from_stage": before,
                    "to_stage": to,
                    "source": "rule",
                    "changed_at": now,
                }
                for customer_id, before, to in written.stage_changes
            ],
        )
    await tell(progress, "write", 5, 5)


def _history(
    workspace_id: int,
    customer_id: int,
    day: date,
    scores: Scores,
    position: int,
    wall: datetime,
) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "customer_id": customer_id,
        "day": day,
        **{name: float(getattr(scores, name)[position]) for name in SCORE_NAMES},
        "recorded_at": wall,
    }


def _datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
