"""Pure, vectorised pieces of (re-)assigning sites to territories.

The wiring loads the sites a fence edit can affect (:func:`affected_bounds`
gives the box to filter on), asks the new index for their territories
(:meth:`geofence.FenceIndex.assign`), and writes back only the rows that
changed, reporting who moved where (:func:`diff_assignment`). Everything here
works on arrays of territory ids, where ``-1`` (:data:`NO_TERRITORY`) means
"outside every fence", so it costs milliseconds for 100,000 sites.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from geofence.coords import Bounds, bounds_of
from geofence.fence import FenceGeometry
from geofence.index import NO_TERRITORY

__all__ = [
    "AssignmentDiff",
    "Move",
    "affected_bounds",
    "as_territory_ids",
    "coverage_gaps",
    "diff_assignment",
]


@dataclass(frozen=True, slots=True)
class Move:
    """How many points went from one territory to another (``None`` = no territory)."""

    from_territory: int | None
    to_territory: int | None
    count: int


@dataclass(frozen=True)
class AssignmentDiff:
    """What changed between two assignments of the same points.

    Attributes
    ----------
    total : int
        Points compared.
    moved : int
        Points whose territory changed.
    moves : tuple of Move
        One entry per (from, to) pair that occurred, largest count first
        (ties by from, then to, with ``None`` first).
    moved_indices : numpy.ndarray of intp
        Positions (into the input arrays) of the points that moved, so the
        caller updates only those rows.
    """

    total: int
    moved: int
    moves: tuple[Move, ...]
    moved_indices: NDArray[np.intp]

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON summary an API response carries (no indices)."""
        return {
            "total": self.total,
            "moved": self.moved,
            "moves": [
                {"from": m.from_territory, "to": m.to_territory, "count": m.count}
                for m in self.moves
            ],
        }


def as_territory_ids(values: ArrayLike) -> NDArray[np.int64]:
    """Return an int64 id array from ids that may use ``None`` for "no territory".

    Database columns are nullable; the index speaks ``-1``. This is the one
    conversion between the two.

    Parameters
    ----------
    values : array_like of int or None
        Territory ids; ``None`` (or ``-1``) for none.

    Returns
    -------
    numpy.ndarray of int64
        ``-1`` where the input had ``None``.
    """
    array = np.asarray(values)
    if array.dtype == object:
        flat = [NO_TERRITORY if v is None else int(v) for v in array.ravel().tolist()]
        return np.array(flat, dtype=np.int64).reshape(array.shape)
    if array.size and array.dtype.kind not in "iu":
        raise TypeError(f"territory ids must be integers or None, not {array.dtype}")
    return array.astype(np.int64, copy=False)


def diff_assignment(old_ids: ArrayLike, new_ids: ArrayLike) -> AssignmentDiff:
    """Summarise how an assignment changed: how many moved, from where to where.

    What a fence create/edit/delete answers with ("42 sites moved: 30 from
    North to Centre, 12 from none to Centre"), and which rows to update.

    Parameters
    ----------
    old_ids, new_ids : array_like of int or None
        Territory per point before and after, same length; ``-1`` or ``None``
        for no territory.

    Returns
    -------
    AssignmentDiff

    Raises
    ------
    ValueError
        If the two arrays differ in length.
    """
    old = as_territory_ids(old_ids).ravel()
    new = as_territory_ids(new_ids).ravel()
    if old.shape != new.shape:
        raise ValueError(f"old_ids has {old.size} entries but new_ids has {new.size}")
    moved_indices = np.flatnonzero(old != new)
    moves: list[Move] = []
    if moved_indices.size:
        pairs = np.column_stack((old[moved_indices], new[moved_indices]))
        unique, counts = np.unique(pairs, axis=0, return_counts=True)
        order = np.lexsort((unique[:, 1], unique[:, 0], -counts))
        for (from_id, to_id), count in zip(
            unique[order].tolist(), counts[order].tolist(), strict=True
        ):
            moves.append(
                Move(
                    from_territory=None if from_id == NO_TERRITORY else from_id,
                    to_territory=None if to_id == NO_TERRITORY else to_id,
                    count=count,
                )
            )
    return AssignmentDiff(
        total=int(old.size),
        moved=int(moved_indices.size),
        moves=tuple(moves),
        moved_indices=moved_indices,
    )


def coverage_gaps(ids: ArrayLike) -> NDArray[np.intp]:
    """Return the positions of points outside every fence.

    Parameters
    ----------
    ids : array_like of int or None
        An assignment, as from :meth:`geofence.FenceIndex.assign`.

    Returns
    -------
    numpy.ndarray of intp
        Indices where the id is ``-1``/``None``, ascending.
    """
    return np.flatnonzero(as_territory_ids(ids).ravel() == NO_TERRITORY)


def affected_bounds(before: FenceGeometry | None, after: FenceGeometry | None) -> Bounds | None:
    """Return the box holding every point whose territory a fence change can alter.

    A point's candidate fences change only if it is covered by the old or
    the new version of the edited fence (a priority change alters the same
    region), so sites outside this box keep their territory and need not be
    loaded. Filter with ``lat BETWEEN min_lat AND max_lat AND lon BETWEEN ...``
    and re-assign only those.

    Parameters
    ----------
    before : Polygon or MultiPolygon or None
        The fence before the change; ``None`` when it is being created.
    after : Polygon or MultiPolygon or None
        The fence after the change; ``None`` when it is being deleted.

    Returns
    -------
    Bounds or None
        ``None`` if both are ``None`` (nothing can move).
    """
    present = [g for g in (before, after) if g is not None and not g.is_empty]
    if not present:
        return None
    return bounds_of(shapely.geometrycollections(present))
