"""A generated field-service day: the shape of problem the product solves every night.

Jobs and technicians are scattered over a 40 km square city split into three territories
(west, centre, east). Technicians hold two or three of five skills at levels 1–5, work an
8:00–17:00 or 7:00–16:00 shift from home with a 30-minute lunch placed between 11:30 and
13:30, and some may cross into a neighbouring territory as a secondary one. Jobs need one
skill at a minimum level, last 15–45 minutes, 40 % have a two-hour window, and priorities
run from low to urgent (urgent ones with an SLA). The generator is deterministic per seed.
"""

from __future__ import annotations

import numpy as np

from routing.domain import (
    Break,
    Job,
    Location,
    Priority,
    Problem,
    Technician,
    TimeWindow,
    Weights,
)

__all__ = ["TERRITORIES", "generate"]

HOUR = 3600
TERRITORIES = ("west", "centre", "east")
SKILLS = ("elec", "gas", "plumb", "hvac", "network")
CENTRE = (31.23, 121.47)  # Shanghai
KM_LAT = 1 / 111.0
KM_LON = 1 / (111.0 * np.cos(np.radians(CENTRE[0])))


def _territory(x_km: float) -> str:
    return TERRITORIES[min(2, int(x_km // (40 / 3)))]


def _place(x_km: float, y_km: float) -> Location:
    return Location(lat=CENTRE[0] + (y_km - 20) * KM_LAT, lon=CENTRE[1] + (x_km - 20) * KM_LON)


def generate(n_jobs: int = 1000, n_technicians: int = 60, seed: int = 0) -> Problem:
    """A reproducible field-service problem.

    Parameters
    ----------
    n_jobs, n_technicians
        Size of the day.
    seed
        Random seed; the same seed gives the same problem.
    """
    rng = np.random.default_rng(seed)
    techs = []
    for k in range(n_technicians):
        x, y = rng.uniform(0, 40), rng.uniform(0, 40)
        home = _place(x, y)
        own = _territory(x)
        i = TERRITORIES.index(own)
        neighbours = [TERRITORIES[j] for j in (i - 1, i + 1) if 0 <= j < 3]
        secondary = frozenset(neighbours[:1]) if rng.random() < 0.3 else frozenset()
        codes = rng.choice(len(SKILLS), size=int(rng.integers(2, 4)), replace=False)
        start = 8 * HOUR if rng.random() < 0.7 else 7 * HOUR
        techs.append(
            Technician(
                id=f"tech{k:03d}",
                start=home,
                shift=TimeWindow(start, start + 9 * HOUR),
                skills={SKILLS[c]: int(rng.integers(2, 6)) for c in codes},
                breaks=(Break(int(11.5 * HOUR), int(13.5 * HOUR), HOUR // 2),),
                max_work_seconds=9 * HOUR,
                territories=frozenset({own}),
                secondary_territories=secondary,
                cost_per_km=0.25,
                cost_per_hour=0.0,
            )
        )
    priorities = [Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW]
    jobs = []
    for k in range(n_jobs):
        x, y = rng.uniform(0, 40), rng.uniform(0, 40)
        priority = priorities[int(rng.choice(4, p=[0.05, 0.2, 0.55, 0.2]))]
        windows: tuple[TimeWindow, ...] = ()
        if rng.random() < 0.4:
            start = int(rng.integers(8, 15)) * HOUR
            windows = (TimeWindow(start, start + 2 * HOUR),)
        jobs.append(
            Job(
                id=f"job{k:04d}",
                location=_place(x, y),
                duration=int(rng.integers(3, 10)) * 5 * 60,
                skills={SKILLS[int(rng.integers(0, len(SKILLS)))]: int(rng.integers(1, 5))},
                windows=windows,
                priority=priority,
                sla_due=12 * HOUR if priority is Priority.URGENT else None,
                territory=_territory(x),
            )
        )
    return Problem(tuple(techs), tuple(jobs), Weights())
