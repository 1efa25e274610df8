"""The deployment files: compose services and settings, gunicorn's configuration, nginx's."""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from app.settings import PREFIX, SETTINGS
from tests.conftest import REPO

yaml = pytest.importorskip("yaml")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """compose.yaml, parsed."""
    document: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text("utf-8"))
    return document


def test_compose_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {
        "postgres",
        "redis",
        "minio",
        "minio-init",
        "migrate",
        "web",
        "worker",
        "proxy",
    }
    assert services["web"]["deploy"]["replicas"] >= 2
    assert services["worker"]["deploy"]["replicas"] >= 1
    assert services["worker"]["command"] == ["sitewright", "worker"]
    assert services["migrate"]["command"] == ["sitewright", "db", "upgrade"]
    for name in ("web", "worker"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["proxy"]["ports"] == ["${HTTP_PORT:-8080}:8080"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in services["proxy"]["volumes"]


def test_compose_web_settings(compose: dict[str, Any]) -> None:
    env = compose["services"]["web"]["environment"]
    assert env["SITEWRIGHT_LOG_FORMAT"] == "json"
    assert env["SITEWRIGHT_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["SITEWRIGHT_STORAGE_URL"] == "s3://sitewright/prod"
    assert env["SITEWRIGHT_SECRET_KEY"] == "${SITEWRIGHT_SECRET_KEY:?set it}"


def test_every_sitewright_variable_is_a_setting() -> None:
    names = {PREFIX + setting.name for setting in SETTINGS}
    for path in ("compose.yaml", "Dockerfile"):
        used = set(re.findall(r"\bSITEWRIGHT_[A-Z0-9_]+", (REPO / path).read_text("utf-8")))
        assert used, path
        assert used <= names, f"{path}: not settings: {sorted(used - names)}"


def test_image_does_not_migrate_at_start() -> None:
    dockerfile = (REPO / "Dockerfile").read_text("utf-8")
    assert "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER sitewright$", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    (cmd,) = [line for line in dockerfile.splitlines() if line.startswith("CMD")]
    assert "gunicorn.conf.py" in cmd and "upgrade" not in cmd


def load_gunicorn_conf(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str
) -> dict[str, Any]:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in ("PORT", "WEB_CONCURRENCY", "GUNICORN_MAX_REQUESTS", "SITEWRIGHT_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(REPO / "gunicorn.conf.py"))


def test_gunicorn_conf_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = load_gunicorn_conf(
        monkeypatch, tmp_path, PORT="9001", WEB_CONCURRENCY="3", GUNICORN_MAX_REQUESTS="100000"
    )
    assert conf["bind"] == "0.0.0.0:9001"
    assert conf["workers"] == 3
    assert conf["preload_app"] is False
    assert conf["timeout"] >= 120 and conf["max_requests"] == 100000
    assert "{x-request-id}o" in conf["access_log_format"]
    default = load_gunicorn_conf(monkeypatch, tmp_path)
    assert 3 <= default["workers"] <= 8
    assert default["max_requests"] == 0  # recycling all workers at once stalled serving


def test_gunicorn_json_logging(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import logging.config

    from gunicorn.glogging import CONFIG_DEFAULTS

    conf = load_gunicorn_conf(monkeypatch, tmp_path, SITEWRIGHT_LOG_FORMAT="json")
    assert "accesslog" not in conf  # the access logger is configured by the dictionary alone
    # gunicorn lays the dictionary over its defaults, one level deep.
    config = {**CONFIG_DEFAULTS, **conf["logconfig_dict"]}
    assert set(config["loggers"]) == {"gunicorn.error", "gunicorn.access"}
    for logger in [*config["loggers"].values(), config["root"]]:
        assert set(logger["handlers"]) <= set(config["handlers"])
    # The formatter factories the configuration names exist and build JSON formatters.
    configurator = logging.config.DictConfigurator(config)
    for name in ("json", "access"):
        formatter = configurator.configure_formatter(dict(config["formatters"][name]))
        assert type(formatter).__name__ in ("JsonFormatter", "AccessJsonFormatter")


def test_gunicorn_child_exit_marks_the_worker_dead(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = load_gunicorn_conf(monkeypatch, tmp_path)
    leftover = tmp_path / "gauge_livesum_4242.db"
    leftover.write_bytes(b"")
    conf["child_exit"](None, SimpleNamespace(pid=4242))
    assert not leftover.exists()


def test_nginx_conf() -> None:
    text = (REPO / "deploy" / "nginx.conf").read_text("utf-8")
    assert "client_max_body_size 30m;" in text
    assert re.search(
        r"gzip_types[^;]*text/css[^;]*application/javascript[^;]*application/json", text
    )
    assert "image/svg+xml" in text
    assert "http://web:8000" in text
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Request-ID"):
        assert f"proxy_set_header {header}" in text
