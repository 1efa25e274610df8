"""The ``sitewright`` command: run, db upgrade, token create, audit verify, templates check,
demo, sweep."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from pathlib import Path
from typing import Any

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from gunicorn.app.base import BaseApplication

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """Return an Alembic config pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(app: Flask) -> None:
    """Create or migrate the database to the newest schema."""
    command.upgrade(alembic_config(app.config["DATABASE_URL"]), "head")


def schema_is_current(url: str) -> bool:
    """Say whether the database at ``url`` has every migration applied."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads()) == heads
    finally:
        engine.dispose()


def _is_loopback(host: str) -> bool:
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (OSError, ValueError):
        return False


db_group = click.Group("db", help="Database commands.")


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Create or migrate the database."""
    upgrade_database(current_app)
    click.echo("Database is up to date.")


token_group = click.Group("token", help="Personal API tokens.")


@token_group.command("create")
@click.option("--email", required=True, help="The user's e-mail (created if needed).")
@click.option("--name", "user_name", default="", help="The user's display name.")
@click.option("--group", "groups", multiple=True, help="A group of the user (repeatable).")
@click.option("--token-name", default="cli", help="A label for the token.")
@with_appcontext
def token_create(email: str, user_name: str, groups: tuple[str, ...], token_name: str) -> None:
    """Create the user if needed and print a new API token alone on the last line."""
    from app import audit
    from app.auth.identity import provision_user
    from app.auth.sessions import create_api_token
    from app.db import get_db

    with get_db().transaction() as session:
        user = provision_user(
            session, email=email, name=user_name, groups=list(groups) if groups else None
        )
        session.flush()
        row, token = create_api_token(session, user, token_name)
        session.flush()
        audit.track_event(
            session, audit.TokenCreated(data={"token": row.prefix, "via": "cli"}), actor=user
        )
    click.echo(f"Token for {email} (keep it secret; it is shown once):")
    click.echo(token)


audit_group = click.Group("audit", help="The audit log.")


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 and name the first broken event if it fails."""
    from app.db import get_db
    from app.services.audit_log import verify

    session = get_db().session()
    try:
        report = verify(session)
    finally:
        session.close()
    if report.ok:
        click.echo(report.message())
        return
    click.echo(report.message(), err=True)
    raise SystemExit(1)


templates_group = click.Group("templates", help="Vetted site templates.")


@templates_group.command("check")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
def templates_check(folders: tuple[Path, ...]) -> None:
    """Check template folders against the contract; exit 1 if any has a problem.

    Prints "ok" per good folder, else each problem with its file and place (JSON Pointer,
    key or line). Needs no database: run it before copying a folder into site_templates/.
    """
    from app.template_check import check_template

    failed = 0
    for folder in folders:
        problems = check_template(folder)
        if not problems:
            click.echo(f"{folder}: ok")
            continue
        failed += 1
        click.echo(f"{folder}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
        for problem in problems:
            click.echo(f"  {problem}")
    if failed:
        click.echo(f"{failed} of {len(folders)} template folders have problems.")
        raise SystemExit(1)


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Load the demo workspace (idempotent)."""
    from app.demo import load_demo
    from app.services.wiring import get_deps

    for line in load_demo(get_deps()):
        click.echo(line)


def _utc_time(_ctx: click.Context, _param: click.Parameter, raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("a UTC time like 2026-12-01T00:00") from None
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


@click.command("sweep")
@click.option(
    "--now",
    callback=_utc_time,
    metavar="TIME",
    help="Act as if it were this UTC time, like 2026-12-01T00:00 (for testing the rules).",
)
@with_appcontext
def sweep(now: dt.datetime | None) -> None:
    """Expire, warn idle, disable idle and purge deleted sites; print what was done.

    Idempotent: run it from cron as often as you like. Exits 1 if a site could not be handled.
    """
    from app.services.sweep import sweep as run_sweep
    from app.services.wiring import get_deps

    report = run_sweep(get_deps(), now)
    for line in report.lines():
        click.echo(line)
    if report.failed:
        raise SystemExit(1)


@click.command("worker")
@click.option("--processes", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty (for tests and cron).")
def worker(processes: int, burst: bool) -> None:
    """Run queued generation jobs from Redis (SITEWRIGHT_REDIS_URL); keep job leases; sweep."""
    from app.logs import configure_logging
    from app.settings import load_settings, resolve_paths
    from app.worker import run_workers

    redis_url = load_settings()["REDIS_URL"]
    if not redis_url:
        raise click.UsageError(
            "SITEWRIGHT_REDIS_URL is not set. Without a queue, jobs run inside the web "
            "process (`sitewright run`); set it to run jobs in separate worker processes."
        )
    settings = resolve_paths(load_settings())
    if not schema_is_current(settings["DATABASE_URL"]):
        raise click.ClickException(
            "The database is not migrated to this version: run `sitewright db upgrade` first."
        )
    configure_logging(settings)
    run_workers(redis_url, processes, burst=burst)


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@with_appcontext
def run(host: str, port: int, threads: int) -> None:
    """Run the server on the embedded defaults (migrates the database first)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["DEV_LOGIN"] and not _is_loopback(host):
        raise click.UsageError(
            "The development sign-in only runs on a loopback address; "
            "use --host 127.0.0.1 or turn SITEWRIGHT_DEV_LOGIN off."
        )
    upgrade_database(app)
    if app.config["DEMO"]:
        from app.demo import load_demo
        from app.services.wiring import get_deps

        for line in load_demo(get_deps()):
            click.echo(line)
    click.echo(
        f"Sitewright on http://{host}:{port}/"
        + ("  (development sign-in at /auth/dev)" if app.config["DEV_LOGIN"] else "")
    )
    EmbeddedServer(host, port, threads).run()


class EmbeddedServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with one worker process and a thread pool: the embedded default.

    One process keeps the in-process job pool the only runner, so no job runs twice.
    """

    def __init__(self, host: str, port: int, threads: int) -> None:
        self.bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.threads = threads
        super().__init__()

    def load_config(self) -> None:
        for key, value in {
            "bind": self.bind,
            "workers": 1,
            "worker_class": "gthread",
            "threads": self.threads,
            "timeout": 120,
            "accesslog": "-",
        }.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from app import create_app
        from app.logs import configure_logging
        from app.services.sweep_timer import start_timer
        from app.services.wiring import get_deps, start_jobs

        app = create_app()
        configure_logging(app.config)
        with app.app_context():
            deps = get_deps()
            start_jobs(deps)
        # The one worker process is the embedded default's cron as well.
        app.extensions["sitewright.sweep_timer"] = start_timer(deps)
        return app


def _create_app(*_args: Any, **_kwargs: Any) -> Flask:
    from app import create_app

    return create_app()


class SitewrightGroup(FlaskGroup):
    """The Flask CLI group with our commands and without Flask's own 'run'."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == "run":
            return run
        return super().get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        # Our own commands only: listing the app's would build the app, which needs settings
        # that `sitewright --help` should not ask for.
        return sorted(self.commands)


cli = SitewrightGroup(
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    help="Sitewright: prompt plus files become a governed internal site.",
)
for item in (db_group, token_group, audit_group, templates_group, demo, sweep, worker, run):
    cli.add_command(item)


def init_app(app: Flask) -> None:
    """Let ``flask --app app`` find the same commands."""
    for item in (db_group, token_group, audit_group, templates_group, demo, sweep, worker):
        app.cli.add_command(item)


def main() -> None:
    """Entry point of the ``sitewright`` console script."""
    cli.main(prog_name="sitewright")
