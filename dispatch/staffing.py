"""Can a crew carry a day's work trade by trade? A small max-flow answers it.

Counting each trade's holders' hours separately says an engineer who holds HVAC and
electrical covers both trades' work in full: a district can pass that check for every
trade and still be short, because the same hours were counted twice. The honest question
is a transportation problem — trades supply minutes of work, engineers absorb them up to
their hours, an engineer only takes trades he holds — and its maximum flow says how much
of the day the crew can carry at once, and where the unused hours are.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["TradeCover", "trade_cover"]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class TradeCover:
    """The most work a crew can carry: per trade what is left over, per engineer what is free."""

    carried: float
    unmet: dict[str, float]  # trade -> minutes no holder has time for
    free: list[float]  # per engineer (input order): capacity left unused

    @property
    def short(self) -> bool:
        """Whether some trade's work does not fit the crew."""
        return any(v > _EPS for v in self.unmet.values())


def trade_cover(
    demand: Mapping[str, float],
    capacity: Sequence[float],
    holds: Sequence[frozenset[str] | set[str]],
) -> TradeCover:
    """Maximum flow from trades (``demand`` minutes) to engineers (``capacity`` minutes).

    ``holds[i]`` are the trades engineer ``i`` may take. The graph has a handful of trades
    and a few dozen engineers, so plain shortest augmenting paths (Edmonds–Karp) on a dense
    residual matrix are more than fast enough.
    """
    trades = sorted(code for code, minutes in demand.items() if minutes > 0)
    n_t, n_e = len(trades), len(capacity)
    if len(holds) != n_e:
        raise ValueError("one set of trades per engineer")
    source, sink = 0, 1 + n_t + n_e
    size = sink + 1
    cap = [[0.0] * size for _ in range(size)]
    for k, code in enumerate(trades):
        cap[source][1 + k] = float(demand[code])
        for i in range(n_e):
            if code in holds[i]:
                cap[1 + k][1 + n_t + i] = float("inf")
    for i, c in enumerate(capacity):
        cap[1 + n_t + i][sink] = max(0.0, float(c))
    carried = 0.0
    while True:
        parent = [-1] * size
        parent[source] = source
        queue = deque([source])
        while queue and parent[sink] < 0:
            u = queue.popleft()
            for v in range(size):
                if parent[v] < 0 and cap[u][v] > _EPS:
                    parent[v] = u
                    queue.append(v)
        if parent[sink] < 0:
            break
        push, v = float("inf"), sink
        while v != source:
            push = min(push, cap[parent[v]][v])
            v = parent[v]
        v = sink
        while v != source:
            u = parent[v]
            cap[u][v] -= push
            cap[v][u] += push
            v = u
        carried += push
    return TradeCover(
        carried=carried,
        unmet={code: cap[source][1 + k] for k, code in enumerate(trades)},
        free=[cap[1 + n_t + i][sink] for i in range(n_e)],
    )
