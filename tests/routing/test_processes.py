"""Search processes start with the malloc cache setting; the caller's environment does not
change, and a user's own settings win."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

from routing.processes import MALLOC_TUNING, search_process_env


def _env() -> tuple[str | None, str | None]:
    return os.environ.get("GLIBC_TUNABLES"), os.environ.get("OPENBLAS_NUM_THREADS")


def test_children_get_the_setting_and_the_parent_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        with search_process_env():
            future = pool.submit(_env)
        assert _env() == (None, None)
        assert future.result() == (MALLOC_TUNING, "1")


def test_other_tunables_are_kept_and_an_explicit_cache_size_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    with search_process_env():
        assert _env() == (f"glibc.malloc.arena_max=2:{MALLOC_TUNING}", "4")
    assert _env() == ("glibc.malloc.arena_max=2", "4")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=7")
    with search_process_env():
        assert _env()[0] == "glibc.malloc.tcache_count=7"
