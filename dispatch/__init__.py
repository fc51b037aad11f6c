"""dispatch: the application services between the records (``crm``) and the solver (``routing``).

Entry points (import them from their modules; this package imports nothing eagerly, so a
solver worker process starts light):

* ``dispatch.batch.plan_day(engine, day, *, territories=None, time_limit=30, executor=None,
  publish=False, progress=None, ...) -> PlanRunResult`` — the nightly batch: parts by
  territory solved in worker processes (local or Dask), second pass with secondary
  territories, a draft plan, atomic publishing. ``result.exit_code`` is what
  ``fieldroute plan`` exits with.
* ``dispatch.plans.publish_plan(engine, plan_id, *, actor)`` — publish a draft.
* ``dispatch.savings.savings_report(engine, day) -> SavingsReport`` — the day's plan
  against the greedy baseline (``report.as_json()`` is ``fieldroute report savings --json``).
* ``dispatch.realtime.find_candidates(session, *, ticket_id, k, now=None, tz)`` and
  ``assign_ticket(session, *, ticket_id, engineer_id, position=None, actor, now=None, tz)``
  — real-time dispatch by cheapest insertion.
* ``dispatch.reoptimize.prepare_reoptimization`` / ``solve_reoptimization`` /
  ``apply_reoptimization`` — re-solve the rest of today (the solve in a worker process).
* ``dispatch.jobs.DispatchRuntime`` — the web app's worker pools (planning jobs, solves).

Module map: ``records`` (bulk reads into plain dataclasses) → ``problem_builder`` (solver
types; absences, windows, SLA) → ``parts`` (territory decomposition, second pass) →
``executors`` + ``worker`` (processes, Dask, retries, time-outs) → ``plans`` (plan rows,
publishing). ``today`` is the in-day state both real-time modules start from.
"""
