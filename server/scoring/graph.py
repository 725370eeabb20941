"""Influence: personalized PageRank over the customer network, and the reported audience.

An edge ``source → target`` (a mention, a repost, a reply, a follow, or a referral, which is
stored as new customer → referrer) passes influence to its target. docs/scoring.md has the
formulas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from socialcrm.server.scoring.settings import ScoringParameters

Array = npt.NDArray[np.float64]

MAX_ITERATIONS = 100
TOLERANCE = 1e-10
"""Power iteration stops when the L1 change of the rank vector falls below this."""


@dataclass(slots=True)
class Ranks:
    """PageRank of N customers (summing to 1) and the part of it that came through edges."""

    rank: Array
    received: Array


def pagerank(
    sources: npt.NDArray[np.int64],
    targets: npt.NDArray[np.int64],
    weights: Array,
    teleport: Array,
    damping: float,
) -> Ranks:
    """Personalized PageRank by power iteration on a sparse matrix.

    ``sources``/``targets`` are customer positions (0 … N-1, N = ``len(teleport)``),
    ``weights`` the edges' weights; ``teleport`` (≥ 0, not all zero) is where a random
    walker restarts. A customer without outgoing edges hands its rank to the teleport
    distribution. ``received`` is ``d · Pᵀ·rank``: zero for a customer no edge points to.
    """
    n = len(teleport)
    v = teleport / teleport.sum()
    keep = (weights > 0) & (sources != targets)
    sources, targets, weights = sources[keep], targets[keep], weights[keep]
    out = np.bincount(sources, weights=weights, minlength=n)
    # Column-stochastic transposed transition matrix: M[t, s] = w(s→t) / out(s).
    matrix = sp.csr_matrix(
        (weights / out[sources], (targets, sources)), shape=(n, n), dtype=np.float64
    )
    dangling = out == 0
    rank = v.copy()
    for _ in range(MAX_ITERATIONS):
        spread = matrix @ rank
        following = damping * (spread + rank[dangling].sum() * v) + (1.0 - damping) * v
        change = float(np.abs(following - rank).sum())
        rank = following
        if change < TOLERANCE:
            break
    return Ranks(rank=rank, received=damping * (matrix @ rank))


def teleport_weights(engagement: Array, p: ScoringParameters) -> Array:
    """Where the walker restarts: toward customers engaged recently, never nowhere."""
    return np.asarray(p.teleport_floor + np.clip(engagement, 0.0, 100.0) / 100.0)


def edge_weights(kind_weights: Array, counts: Array) -> Array:
    """``weight(kind) · ln(1 + count)`` for each edge, given each edge's kind weight."""
    return np.asarray(kind_weights * np.log1p(np.maximum(counts, 0.0)))


def log_normalized(x: Array) -> Array:
    """``ln(1 + x) / ln(1 + max x)`` within the workspace: 0 to 1, 0 everywhere when all zero."""
    x = np.maximum(x, 0.0)
    top = float(np.log1p(x.max())) if len(x) else 0.0
    if top <= 0:
        return np.zeros_like(x)
    return np.asarray(np.log1p(x) / top)


def influence(received: Array, audience: Array, p: ScoringParameters) -> Array:
    """0-100: the weighted mean of the log-normalized rank received through edges (times N)
    and the log-normalized audience."""
    n = len(received)
    w = p.influence_weights
    graph = log_normalized(received * n)
    reach = log_normalized(audience)
    return np.asarray(100.0 * (w.graph * graph + w.audience * reach) / w.total())
