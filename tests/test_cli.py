"""The sitewright command: migrations in step with the models, demo, run's loopback guard."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from app.cli import alembic_config, cli
from app.models import Site
from tests.conftest import Auth


def test_migrations_match_the_models(app: Flask) -> None:
    command.check(alembic_config(app.config["DATABASE_URL"]))  # raises if a migration is missing


def test_demo_is_idempotent(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert first.output.count("created at /s/") == 3
    second = runner.invoke(args=["demo"])
    assert second.output.count("already exists") == 3
    with app.extensions["sitewright.db"].transaction() as session:
        sites = session.scalars(select(Site)).all()
        assert len(sites) == 3
        assert all(s.status == "published" and s.audience == "workspace" for s in sites)
        assert session.scalar(select(func.sum(Site.latest_version))) == 3
    client = app.test_client()
    Auth(client).login("newcomer@example.com")
    home = client.get("/").get_data(as_text=True)
    assert home.count("Demo: ") == 3  # a newcomer sees the demo sites at once
    for site in sites:
        assert client.get(f"/s/{site.slug}/").status_code == 200


def test_run_refuses_dev_login_off_loopback(tmp_path: Path) -> None:
    env = {
        "SITEWRIGHT_DEV_LOGIN": "1",
        "SITEWRIGHT_DATA_DIR": str(tmp_path),
        "SITEWRIGHT_LLM_BASE_URL": "http://127.0.0.1:9/v1",
    }
    result = CliRunner().invoke(cli, ["run", "--host", "0.0.0.0"], env=env)  # noqa: S104
    assert result.exit_code != 0
    assert "loopback" in result.output


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    for name in ("run", "db", "token", "demo"):
        assert name in result.output
