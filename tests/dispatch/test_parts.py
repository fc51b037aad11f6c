"""Second-pass grouping: tickets sharing an engineer go together, groups stay small."""

from __future__ import annotations

from dispatch.parts import _cap_groups


def test_tickets_sharing_an_engineer_are_grouped() -> None:
    """1 and 2 share engineer 10; 3 has its own engineers."""
    groups = _cap_groups({1: [10, 11], 2: [10], 3: [20, 21]}, cap=12)
    assert sorted((sorted(t), sorted(e)) for t, e in groups) == [
        ([1, 2], [10, 11]),
        ([3], [20, 21]),
    ]


def test_every_engineer_is_in_one_group_and_no_group_exceeds_the_cap() -> None:
    """A chain of shared engineers across the city is cut into groups of at most 3."""
    chain = {k: [k, k + 1] for k in range(1, 20)}
    groups = _cap_groups(chain, cap=3)
    owners: dict[int, int] = {}
    for i, (tickets, engineers) in enumerate(groups):
        assert len(engineers) <= 3
        for e in engineers:
            assert e not in owners
            owners[e] = i
        for t in tickets:
            assert any(e in engineers for e in chain[t])  # each keeps a candidate
    assert sorted(t for ts, _ in groups for t in ts) == list(range(1, 20))
