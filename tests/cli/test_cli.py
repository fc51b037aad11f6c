"""The fieldroute command line: exit codes and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("FIELDROUTE_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("FIELDROUTE_VAR_DIR", str(tmp_path / "var"))
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_every_command_has_help() -> None:
    """--help works for the top level and each sub-command."""
    for args in (
        [],
        ["db"],
        ["db", "upgrade"],
        ["serve"],
        ["user", "create"],
        ["import"],
        ["export"],
    ):
        r = run(*args, "--help")
        assert r.exit_code == 0, (args, r.output)
        assert "Usage" in r.output


def test_outdated_schema_is_one_line_and_exit_1(env: Path) -> None:
    """Commands needing the database refuse an empty one with the fix in one line."""
    r = run("user", "create", "ann", "--role", "admin", "--password", "long-enough-pw")
    assert r.exit_code == 1
    assert r.output.strip().count("\n") == 0
    assert "fieldroute db upgrade" in r.output


def test_upgrade_then_create_user_then_import(env: Path) -> None:
    """db upgrade, user create (generated password printed), import good and bad files."""
    assert run("db", "upgrade").exit_code == 0
    assert run("db", "check").exit_code == 0
    r = run("user", "create", "disp", "--role", "dispatcher")
    assert r.exit_code == 0 and "password:" in r.output
    dup = run("user", "create", "disp", "--role", "dispatcher", "--password", "another-pw-1")
    assert dup.exit_code == 1 and "taken" in dup.output
    bad_role = run("user", "create", "x", "--role", "boss")
    assert bad_role.exit_code != 0
    good = env / "customers.csv"
    good.write_text("name,phone\nAlpha,13800000001\nBeta,13800000002\n")
    r = run("import", "customers", str(good))
    assert r.exit_code == 0 and "imported 2 customers" in r.output
    bad = env / "bad.csv"
    bad.write_text("name,phone\nGamma,13800000003\nDelta,13800000001\n")
    r = run("import", "customers", str(bad))
    assert r.exit_code == 1 and "nothing was imported" in r.output and ":3:" in r.output
    out = run("export", "customers")
    assert out.exit_code == 0 and "Gamma" not in out.output and "Alpha" in out.output
    assert run("import", "planets", str(good)).exit_code == 1
    assert run("import", "customers", str(env / "missing.csv")).exit_code == 1
