"""The crew-cover max-flow: an engineer's day counts once, however many trades he holds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.staffing import trade_cover


def test_one_day_cannot_cover_two_trades_twice() -> None:
    """Counting per trade, Ann (HVAC and electrical, 300 min) covers both 200-minute trades;
    at once she covers 300 of their 400 minutes."""
    cover = trade_cover({"hvac": 200, "elec": 200}, [300], [{"hvac", "elec"}])
    assert cover.carried == pytest.approx(300)
    assert sum(cover.unmet.values()) == pytest.approx(100)
    assert cover.short
    assert cover.free == [pytest.approx(0)]


def test_a_specialist_idle_beside_a_short_trade() -> None:
    """Bo holds only refrigeration, which has little work: his hours stay free while HVAC
    is short — the engineer a manager would cross-train."""
    cover = trade_cover({"hvac": 500, "fridge": 60}, [300, 300], [{"hvac"}, {"fridge"}])
    assert cover.unmet == {"fridge": pytest.approx(0), "hvac": pytest.approx(200)}
    assert cover.free == [pytest.approx(0), pytest.approx(240)]


def test_flow_reroutes_through_a_shared_engineer() -> None:
    """Greedy filling would give Cai's day to HVAC first and leave electrical short; the
    maximum flow sends HVAC to Di and electrical to Cai, covering both."""
    cover = trade_cover({"hvac": 100, "elec": 100}, [100, 100], [{"hvac", "elec"}, {"hvac"}])
    assert not cover.short
    assert cover.carried == pytest.approx(200)


def test_nobody_holding_a_trade_leaves_all_of_it_unmet() -> None:
    cover = trade_cover({"lifts": 90, "hvac": 0}, [480], [{"hvac"}])
    assert cover.unmet == {"lifts": pytest.approx(90)}
    assert cover.free == [pytest.approx(480)]


def test_one_set_of_trades_per_engineer() -> None:
    with pytest.raises(ValueError, match="one set of trades per engineer"):
        trade_cover({"hvac": 10}, [100, 100], [{"hvac"}])


TRADES = ("hvac", "elec", "plumb", "fire")


@settings(max_examples=150, deadline=None)
@given(
    demand=st.dictionaries(st.sampled_from(TRADES), st.integers(0, 2_000)),
    crew=st.lists(st.tuples(st.integers(0, 600), st.sets(st.sampled_from(TRADES))), max_size=8),
)
def test_the_flow_is_feasible_and_maximal(
    demand: dict[str, int], crew: list[tuple[int, set[str]]]
) -> None:
    """Carried = demand − unmet = capacity − free, nothing negative, and it reaches the
    obvious bounds: each trade's own demand and its holders' hours (cut bounds)."""
    capacity = [c for c, _ in crew]
    holds = [h for _, h in crew]
    cover = trade_cover(demand, capacity, holds)
    total = sum(v for v in demand.values() if v > 0)
    assert all(v >= -1e-6 for v in cover.unmet.values())
    assert all(f >= -1e-6 for f in cover.free)
    assert cover.carried == pytest.approx(total - sum(cover.unmet.values()), abs=1e-6)
    assert cover.carried == pytest.approx(sum(capacity) - sum(cover.free), abs=1e-6)
    assert cover.carried <= min(total, sum(capacity)) + 1e-6
    # Max-flow optimality: a trade left short has no holder with free hours.
    for code, left in cover.unmet.items():
        if left > 1e-6:
            assert all(cover.free[i] <= 1e-6 for i, h in enumerate(holds) if code in h)
