"""Benchmark the fence index: build time and 1,000,000 point lookups.

Targets (issue 4): index build over 2,000 district fences (50–500 vertices
each) in ≤ 1 s, and 1,000,000 point lookups in ≤ 3 s. Prints each figure,
its ratio to the target (< 1 is within target) and the load average beside
it, since the machine is shared. ``--json`` prints one JSON object instead.

The city is synthetic but shaped like the real thing: a jittered-grid
Voronoi tessellation of a ~36 km square around Paris, each cell densified to
a random vertex count in [50, 500] and its borders bent by a smooth noise
field (so neighbours' borders differ by a few metres: slivers of overlap and
gap, as in hand-drawn data), 5 % of fences enlarged by ~200 m with a higher
priority (overlaps), 5 % with a hole (a park nobody covers).

Also printed, without targets: parsing all fences from a GeoJSON
FeatureCollection (what loading them from storage costs), and the pure part
of re-assigning 100,000 sites after one fence edit (affected box, lookup of
the sites inside it, diff) which the SQLite wiring builds on.

Run: ``.venv/bin/python bench/geofence.py [--json] [--points N] [--fences N]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and this file,
# named geofence.py, would shadow the geofence package: put the repository
# root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from geofence import (  # noqa: E402
    FenceIndex,
    FenceItem,
    affected_bounds,
    diff_assignment,
    feature_collection,
    fence_from_shapely,
    fence_to_feature,
    parse_fences,
)

BUILD_TARGET_S = 1.0
LOOKUP_TARGET_S = 3.0
CENTRE_LAT, CENTRE_LON = 48.8566, 2.3522
HALF_LAT, HALF_LON = 0.16, 0.245  # ≈ 36 km × 36 km


@dataclass(frozen=True)
class City:
    """The synthetic city: fence items plus the points to look up."""

    items: list[FenceItem]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]


def _noise(xy: NDArray[np.float64], rng_seed: int) -> NDArray[np.float64]:
    """A smooth displacement field (sum of sines), ~20 m amplitude, ~200 m wavelength."""
    rng = np.random.default_rng(rng_seed)
    out = xy.copy()
    for _ in range(4):
        k = rng.uniform(2500.0, 4500.0, size=2) * rng.choice([-1.0, 1.0], size=2)
        phase = rng.uniform(0.0, 2 * np.pi, size=2)
        amp = 0.00006
        arg = xy[:, 0] * k[0] + xy[:, 1] * k[1]
        out[:, 0] += amp * np.sin(arg + phase[0])
        out[:, 1] += amp * np.sin(arg + phase[1])
    return out


def make_city(n_fences: int, n_points: int, seed: int = 7) -> City:
    """Generate the tessellation, its overlaps and holes, and the query points."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_fences * 1.02)))
    gx, gy = np.meshgrid(np.arange(side) + 0.5, np.arange(side) + 0.5)
    seeds = np.column_stack([gx.ravel(), gy.ravel()]) / side
    seeds += rng.uniform(-0.35, 0.35, size=seeds.shape) / side
    seeds = seeds[rng.permutation(len(seeds))[:n_fences]]
    lon = CENTRE_LON - HALF_LON + seeds[:, 0] * 2 * HALF_LON
    lat = CENTRE_LAT - HALF_LAT + seeds[:, 1] * 2 * HALF_LAT
    frame = shapely.box(
        CENTRE_LON - HALF_LON, CENTRE_LAT - HALF_LAT, CENTRE_LON + HALF_LON, CENTRE_LAT + HALF_LAT
    )
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(np.column_stack([lon, lat])), extend_to=frame)
    )
    cells = shapely.intersection(cells, frame)

    items: list[FenceItem] = []
    for territory_id, cell in enumerate(cells):
        # Vertex budget 50-500: densify to a target, leaving room for the
        # corners a buffer adds and the 17 vertices of a hole.
        target_vertices = int(rng.integers(50, 470))
        priority = 0
        if rng.random() < 0.05:
            cell = shapely.buffer(cell, 0.002, quad_segs=2)
            priority = 1
        dense = shapely.segmentize(cell, cell.length / target_vertices)
        bent = shapely.transform(dense, lambda xy: _noise(xy, seed))
        if priority == 0 and rng.random() < 0.05:
            hole = shapely.buffer(shapely.point_on_surface(bent), 0.0015, quad_segs=4)
            if shapely.contains_properly(bent, hole):
                bent = shapely.difference(bent, hole)
        geometry = fence_from_shapely(bent, repair=True)
        items.append(FenceItem(territory_id=territory_id, geometry=geometry, priority=priority))

    plat = rng.uniform(CENTRE_LAT - 1.05 * HALF_LAT, CENTRE_LAT + 1.05 * HALF_LAT, n_points)
    plon = rng.uniform(CENTRE_LON - 1.05 * HALF_LON, CENTRE_LON + 1.05 * HALF_LON, n_points)
    return City(items=items, lat=plat, lon=plon)


def _reassign_one_edit(
    index: FenceIndex, city: City, old_ids: NDArray[np.int64], n_sites: int
) -> object:
    """One fence grows by ~300 m: re-assign the sites its edit can affect.

    ``old_ids`` stand for the territories stored before the edit; what is
    timed is the edit of the index, the box filter, the lookup of the sites
    in the box and the diff.
    """
    lat, lon = city.lat[:n_sites], city.lon[:n_sites]
    item = next(iter(index))
    edited = FenceItem(item.territory_id, shapely.buffer(item.geometry, 0.003), item.priority)
    new_index = index.replaced(upsert=[edited])
    bounds = affected_bounds(item.geometry, edited.geometry)
    assert bounds is not None
    mask = bounds.contains(lat=lat, lon=lon)
    new_ids = old_ids.copy()
    new_ids[mask] = new_index.assign(lat=lat[mask], lon=lon[mask])
    return diff_assignment(old_ids, new_ids)


def _best_of(fn, repeat: int) -> tuple[float, list[float], object]:  # type: ignore[no-untyped-def]
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), times, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--fences", type=int, default=2000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; best is kept")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    city = make_city(args.fences, args.points, seed=args.seed)
    generate_s = time.perf_counter() - start
    vertices = np.array([shapely.get_num_coordinates(i.geometry) for i in city.items])

    collection = feature_collection(
        fence_to_feature(item.geometry, feature_id=item.territory_id) for item in city.items
    )
    parse_s, _, _ = _best_of(lambda: parse_fences(collection), 1)

    build_s, build_runs, index = _best_of(lambda: FenceIndex(city.items), args.repeat)
    assert isinstance(index, FenceIndex)
    lookup_s, lookup_runs, ids = _best_of(
        lambda: index.assign(lat=city.lat, lon=city.lon), args.repeat
    )
    assert isinstance(ids, np.ndarray)
    n_sites = min(100_000, len(city.lat))
    stored = index.assign(lat=city.lat[:n_sites], lon=city.lon[:n_sites])
    reassign_s, _, diff = _best_of(
        lambda: _reassign_one_edit(index, city, stored, n_sites), args.repeat
    )
    load = os.getloadavg()
    holes = sum(
        len(p.interiors) > 0 for item in city.items for p in shapely.get_parts(item.geometry)
    )

    report = {
        "fences": len(city.items),
        "vertices_min": int(vertices.min()),
        "vertices_median": float(statistics.median(vertices.tolist())),
        "vertices_max": int(vertices.max()),
        "points": len(city.lat),
        "assigned_fraction": float((ids >= 0).mean()),
        "fences_with_holes": int(holes),
        "fences_priority_raised": sum(item.priority > 0 for item in city.items),
        "generate_s": round(generate_s, 3),
        "build_s": round(build_s, 4),
        "build_runs_s": [round(t, 4) for t in build_runs],
        "build_target_s": BUILD_TARGET_S,
        "build_ratio": round(build_s / BUILD_TARGET_S, 3),
        "lookup_s": round(lookup_s, 4),
        "lookup_runs_s": [round(t, 4) for t in lookup_runs],
        "lookup_target_s": LOOKUP_TARGET_S,
        "lookup_ratio": round(lookup_s / LOOKUP_TARGET_S, 3),
        "points_per_s": round(len(city.lat) / lookup_s),
        "parse_geojson_s": round(parse_s, 3),
        "reassign_100k_pure_s": round(reassign_s, 4),
        "reassign_100k_moved": diff.moved if hasattr(diff, "moved") else None,
        "loadavg_1_5_15": [round(x, 2) for x in load],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "shapely": shapely.__version__,
        "geos": ".".join(map(str, shapely.geos_version)),
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print(
        f"city: {report['fences']} fences, vertices min/median/max "
        f"{report['vertices_min']}/{report['vertices_median']:.0f}/{report['vertices_max']}, "
        f"{report['fences_with_holes']} with holes, {report['fences_priority_raised']} "
        f"overlapping with raised priority; {report['points']:,} points "
        f"({report['assigned_fraction']:.1%} inside a fence); "
        f"generated in {generate_s:.1f} s"
    )
    print(
        f"index build   {build_s:7.3f} s  target {BUILD_TARGET_S:.1f} s  "
        f"ratio {report['build_ratio']:.3f}  (runs {report['build_runs_s']})"
    )
    print(
        f"lookup 1e6    {lookup_s:7.3f} s  target {LOOKUP_TARGET_S:.1f} s  "
        f"ratio {report['lookup_ratio']:.3f}  ({report['points_per_s']:,} points/s, "
        f"runs {report['lookup_runs_s']})"
    )
    print(
        f"not targeted: parse {report['fences']} fences from GeoJSON {parse_s:.3f} s; "
        f"re-assign 100k sites after one edit (pure part) {reassign_s:.4f} s, "
        f"{report['reassign_100k_moved']} moved"
    )
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cpus; "
        f"shapely {shapely.__version__}, GEOS {report['geos']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
