"""The environment of the processes that run searches.

OR-Tools 9.15 copies a dimension's transit matrix, one heap block per row, every time a
filter checks a route (see :func:`routing.ortools_model._shared_places`). glibc keeps only
seven freed blocks of a size per thread, so almost every row of every copy takes malloc's
slow path; with a deeper per-thread cache the copies are served from it, and iterated local
search on a Solomon instance runs about a fifth more iterations (R201, 10 s: 5,741 → 6,967).
glibc reads the setting once, at process start, so it can only be given to processes
started later: the search processes a solve or a nightly batch starts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["search_process_env"]

# Rows of up to 1,032 bytes (129 nodes) are cacheable at all; 512 covers every row of two
# copies of the largest such matrix.
MALLOC_TUNING = "glibc.malloc.tcache_count=512"

_lock = threading.RLock()


def _changes() -> dict[str, str]:
    changes: dict[str, str] = {}
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if "tcache_count" not in tunables:
        changes["GLIBC_TUNABLES"] = f"{tunables}:{MALLOC_TUNING}" if tunables else MALLOC_TUNING
    # A search process runs one OR-Tools thread; OpenBLAS's idle threads would spin on the
    # core another search needs.
    if "OPENBLAS_NUM_THREADS" not in os.environ:
        changes["OPENBLAS_NUM_THREADS"] = "1"
    return changes


@contextmanager
def search_process_env() -> Iterator[None]:
    """Processes started inside this block get the search environment; the caller's own
    environment is back as it was afterwards (a user's settings always win)."""
    with _lock:
        changes = _changes()
        saved = {k: os.environ.get(k) for k in changes}
        os.environ.update(changes)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
