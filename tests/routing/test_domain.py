"""Validation at construction, immutability and pickling of the public types."""

from __future__ import annotations

import pickle

import pytest

from routing import (
    Break,
    Job,
    Location,
    Priority,
    Problem,
    ProblemBuilder,
    SkillLevels,
    SolveParams,
    Technician,
    TimeWindow,
    Weights,
)

HOME = Location(lat=31.23, lon=121.47)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Location(lat=91, lon=0), "lat"),
        (lambda: Location(lat=0, lon=0, index=-1), "index"),
        (lambda: TimeWindow(10, 5), "before its start"),
        (lambda: TimeWindow(0.5, 5), "integer"),  # type: ignore[arg-type]
        (lambda: Break(100, 50, 10), "before its earliest"),
        (lambda: SkillLevels({"elec": 6}), "1–5"),
        (
            lambda: Job(id="j", location=HOME, windows=(TimeWindow(0, 10), TimeWindow(5, 20))),
            "overlap",
        ),
        (lambda: Job(id="j", location=HOME, locked_first=True), "pinned_to"),
        (lambda: Job(id="j", location=HOME, priority="asap"), "priority"),  # type: ignore[arg-type]
        (lambda: Job(id="", location=HOME), "non-empty"),
        (
            lambda: Technician(
                id="t",
                start=HOME,
                shift=TimeWindow(0, 10),
                territories=frozenset({"a"}),
                secondary_territories=frozenset({"a"}),
            ),
            "both primary and secondary",
        ),
        (lambda: Weights(drop_low=10, drop_normal=5), "increase"),
        (lambda: SolveParams(first_solution="magic"), "first_solution"),
        (lambda: SolveParams(time_limit=0), "time_limit"),
    ],
)
def test_invalid_values_fail_at_construction(build, match: str) -> None:
    """Each bad value raises ValueError with a message naming the problem."""
    with pytest.raises(ValueError, match=match):
        build()


def test_duplicate_ids_are_refused() -> None:
    """Two jobs with one id would make routes ambiguous."""
    j = Job(id="j", location=HOME)
    with pytest.raises(ValueError, match="duplicate job id"):
        Problem((), (j, j))


def test_skills_are_copied_and_immutable() -> None:
    """A dict passed as skills is copied: changing it later changes nothing."""
    skills = {"elec": 3}
    t = Technician(id="t", start=HOME, shift=TimeWindow(0, 10), skills=skills)
    skills["elec"] = 1
    assert t.skills["elec"] == 3
    assert t.end == HOME  # end defaults to start
    with pytest.raises(TypeError):
        t.skills["elec"] = 5  # type: ignore[index]
    assert hash(t) == hash(
        Technician(id="t", start=HOME, shift=TimeWindow(0, 10), skills={"elec": 3})
    )


def test_problem_and_params_pickle() -> None:
    """Problems and params cross process boundaries (process pools, Dask) unchanged."""
    b = ProblemBuilder()
    b.add_technician(
        Technician(
            id="t",
            start=HOME,
            shift=TimeWindow(0, 3600),
            skills={"gas": 2},
            breaks=(Break(100, 200, 30),),
            territories=frozenset({"n"}),
        )
    )
    b.add_job(
        Job(
            id="j",
            location=HOME,
            skills={"gas": 1},
            priority=Priority.HIGH,
            windows=(TimeWindow(0, 10),),
        )
    )
    p = b.build()
    assert pickle.loads(pickle.dumps(p)) == p
    params = SolveParams(time_limit=3, initial_routes={"t": ["j"]})
    assert pickle.loads(pickle.dumps(params)) == params
