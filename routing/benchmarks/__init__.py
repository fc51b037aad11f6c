"""Benchmark instance readers and runners (Solomon, Gehring–Homberger, Pillac TRSP).

They live in ``routing`` so that the CLI and the ``bench/`` scripts stay thin, and so that a
benchmark is solved through the product's own model, not a special-purpose one.
"""
