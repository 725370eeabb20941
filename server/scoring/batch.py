"""The batch rescore: every customer of a workspace recomputed from their whole history.

One transaction per workspace: the reads (a few aggregate statements), the computation
(numpy, and scipy for the network, in a worker thread), then the writes in bulk, then one
commit. Until that commit the previous scores stand whole; an interrupted rescore (an
error, Ctrl-C, a killed process or a lost connection) changes nothing. What happens to an
interaction stored while a rescore runs is in ``socialcrm.server.scoring.write``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from socialcrm.server.interactions import announce_scores
from socialcrm.server.scoring.announce import ScoreAnnouncement, score_envelope, stage_change_event
from socialcrm.server.scoring.formulas import SCORE_NAMES, compute, engagement
from socialcrm.server.scoring.graph import edge_weights, influence, pagerank, teleport_weights
from socialcrm.server.scoring.load import Progress, Snapshot, read_workspace, tell
from socialcrm.server.scoring.settings import ScoringParameters, read_settings
from socialcrm.server.scoring.stages import STAGES
from socialcrm.server.scoring.write import Computed, Written, write_workspace
from socialcrm.server.services import Services
from socialcrm.server.sqltypes import utcnow

log = logging.getLogger(__name__)


RESCORE_WORK_MEM = "256MB"
"""PostgreSQL's ``work_mem`` in a rescore's transaction: each sort or hash of the aggregate
(the leader and each parallel worker) may use this much before spilling to disk."""

LOCK_CLASS = 0x5C0E
"""The first key of the PostgreSQL advisory lock a rescore of a workspace holds (the second
is the workspace id), so two processes never rescore one workspace at once."""


@dataclass(frozen=True, slots=True)
class RescoreResult:
    """What one workspace's rescore did."""

    workspace_id: int
    customers: int
    """Customers computed."""
    written: int
    """Customers whose scores were written (the others changed meanwhile: see ``write``)."""
    history: int
    stage_changes: int
    seconds: float


def _no_progress(phase: str, done: int, total: int) -> None:
    """Progress is optional."""


async def rescore_workspace(
    services_or_engine: Services | AsyncEngine,
    workspace_id: int,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    wait: bool = True,
) -> RescoreResult | None:
    """Recompute every score and stage of a workspace as of ``now`` (default: the present).

    Given ``Services``, stage changes run ``scrm_customer_changed`` and they and large score
    moves (``announce_min_delta``) are published on the scores topic after the commit;
    given only an engine, nothing is announced. Returns None when ``wait`` is False and
    another process is rescoring the workspace. ``progress(phase, done, total)`` (phases
    read, compute, write, announce; it may be a coroutine function) follows the work; an
    exception, from ``progress`` too, before the commit rolls everything back.
    """
    services = services_or_engine if isinstance(services_or_engine, Services) else None
    engine = services.engine if services is not None else services_or_engine
    assert isinstance(engine, AsyncEngine)
    report = progress or _no_progress
    reference = (now or utcnow()).astimezone(UTC)
    started = time.perf_counter()
    async with engine.connect() as connection:
        if not await _lock(connection, workspace_id, wait):
            return None
        await _tune(connection)
        p = await read_settings(connection, workspace_id)
        snapshot = await read_workspace(connection, workspace_id, reference.timestamp(), p, report)
        await tell(report, "compute", 0, 1)
        computed = await asyncio.to_thread(compute_workspace, snapshot, reference.timestamp(), p)
        await tell(report, "compute", 1, 1)
        written = await write_workspace(
            connection, workspace_id, snapshot, computed, reference, utcnow(), p, report
        )
        await connection.commit()
    result = RescoreResult(
        workspace_id=workspace_id,
        customers=len(snapshot.ids),
        written=written.customers,
        history=written.history,
        stage_changes=len(written.stage_changes),
        seconds=time.perf_counter() - started,
    )
    if services is not None:
        await _announce(services, workspace_id, snapshot, computed, written, reference, report)
    log.info(
        "workspace %s rescored: %s customers (%s written), %s stage changes, %.1fs",
        workspace_id,
        result.customers,
        result.written,
        result.stage_changes,
        result.seconds,
    )
    return result


def compute_workspace(snapshot: Snapshot, now: float, p: ScoringParameters) -> Computed:
    """Influence from the network, then every score and stage (numpy; no database)."""
    m = snapshot.measures
    n = len(snapshot.ids)
    if n:
        ranks = pagerank(
            snapshot.sources,
            snapshot.targets,
            edge_weights(snapshot.edge_kind_weights, snapshot.edge_counts),
            teleport_weights(engagement(m.activity_recent, p), p),
            p.pagerank_damping,
        )
        m.influence = influence(ranks.received, snapshot.audience, p)
        centrality = ranks.rank * n
    else:
        centrality = np.zeros(0)
    return Computed(scores=compute(m, now, p), centrality=centrality)


async def _lock(connection: AsyncConnection, workspace_id: int, wait: bool) -> bool:
    """Take the workspace's rescore lock for this transaction (PostgreSQL). On SQLite the
    database's single writer already serializes two rescores, and the second one skips
    every customer the first one wrote."""
    if connection.dialect.name != "postgresql":
        return True
    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    got = await connection.scalar(
        text(f"SELECT {function}(CAST(:kind AS INTEGER), CAST(:workspace AS INTEGER))"),
        {"kind": LOCK_CLASS, "workspace": workspace_id},
    )
    return wait or bool(got)


async def _tune(connection: AsyncConnection) -> None:
    """Give the rescore's transaction room to aggregate in memory (PostgreSQL).

    At the default ``work_mem`` of 4 MB the per-customer aggregate of 10,000,000
    interactions spills about 0.8 GB to temporary files, and JIT compiling it costs seconds
    of CPU the statement never wins back: with ``RESCORE_WORK_MEM`` and JIT off it took 17.5 s
    instead of 23 s (bench/README.md). Both settings end with the transaction."""
    if connection.dialect.name != "postgresql":
        return
    await connection.execute(
        text("SELECT set_config('work_mem', :work_mem, true), set_config('jit', 'off', true)"),
        {"work_mem": RESCORE_WORK_MEM},
    )


async def _announce(
    services: Services,
    workspace_id: int,
    snapshot: Snapshot,
    computed: Computed,
    written: Written,
    at: datetime,
    report: Progress,
) -> None:
    """After the commit: the stage changes' hooks, and the envelopes of what moved much."""
    moves = {customer_id: (before, to) for customer_id, before, to in written.stage_changes}
    scores = computed.scores
    total = len(written.announced)
    for done, position in enumerate(written.announced, start=1):
        customer_id = int(snapshot.ids[position])
        old = {name: float(snapshot.old[name][position]) for name in SCORE_NAMES}
        new = {name: float(getattr(scores, name)[position]) for name in SCORE_NAMES}
        announcement = ScoreAnnouncement(workspace_id)
        if customer_id in moves:
            before, stage = moves[customer_id]
            announcement.customer_changes.append(
                stage_change_event(workspace_id, customer_id, before, stage, "rule")
            )
        else:
            code = int(written.stage_now[position])
            stage = before = STAGES[code] if 0 <= code < len(STAGES) else STAGES[0]
        announcement.envelope = score_envelope(customer_id, old, new, stage, before, at)
        try:
            await announce_scores(services, announcement)
        except Exception:
            log.exception("announcing the rescore of customer %s failed", customer_id)
        if done % 1_000 == 0 or done == total:
            await tell(report, "announce", done, total)
            await asyncio.sleep(0)  # let a server's requests run between the announcements
