"""``fieldroute plan`` and ``fieldroute report savings``: output and exit codes."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.cli import app
from tests.dispatch.world import DAY, TZ, World


def _env(engine: Engine) -> dict[str, str]:
    return {
        "FIELDROUTE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "FIELDROUTE_TIMEZONE": TZ,
        "FIELDROUTE_PLAN_WORKERS": "2",
    }


def _world(engine: Engine) -> World:
    w = World(engine).setup()
    w.territory("North")
    w.engineer("Ann", primary=["North"])
    w.scatter(6, territory="North")
    return w


def test_plan_json_publish_and_savings_json(engine: Engine) -> None:
    """Exit 0 with a published plan; the savings report prints exactly the agreed object."""
    _world(engine)
    runner = CliRunner()
    day = DAY.isoformat()
    r = runner.invoke(
        app,
        ["plan", "--date", day, "--solution-limit", "10", "--publish", "--json"],
        env=_env(engine),
    )
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["status"] == "published" and body["totals"]["assigned"] == 6
    assert body["parts"][0]["attempts"] == 1
    r = runner.invoke(app, ["report", "savings", "--date", day, "--json"], env=_env(engine))
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert list(report) == ["optimised", "greedy", "ratio_km_per_served"]
    assert list(report["optimised"]) == ["km", "drive_hours", "served", "sla_met", "km_per_served"]
    assert report["optimised"]["served"] == 6
    r = runner.invoke(app, ["report", "savings", "--date", day], env=_env(engine))
    assert r.exit_code == 0 and "km per served ticket" in r.stdout


def test_failed_part_exits_3_naming_it(engine: Engine) -> None:
    """A part over its time-out twice: exit 3, the message names the part, nothing published."""
    _world(engine)
    r = CliRunner().invoke(
        app,
        ["plan", "--date", DAY.isoformat(), "--time-limit", "60", "--part-timeout", "0.3"],
        env=_env(engine),
    )
    assert r.exit_code == 3, r.output
    assert "part p01 [North] failed twice" in r.stderr
    assert "previous plan is unchanged" in r.stderr


def test_input_errors_exit_1(engine: Engine) -> None:
    """Unknown territory, bad date, no plan to report on: one line on stderr, exit 1."""
    _world(engine)
    runner = CliRunner()
    r = runner.invoke(app, ["plan", "--date", DAY.isoformat(), "--territory", "Atlantis"],
                      env=_env(engine))  # fmt: skip
    assert r.exit_code == 1 and "unknown territory Atlantis" in r.stderr
    r = runner.invoke(app, ["plan", "--date", "someday"], env=_env(engine))
    assert r.exit_code == 1 and "not a date" in r.stderr
    r = runner.invoke(app, ["report", "savings", "--date", "2031-01-01"], env=_env(engine))
    assert r.exit_code == 1 and "2031-01-01" in r.stderr
