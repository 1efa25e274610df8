"""The JSON API with personal tokens: the same rules as the UI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import wait_for_jobs
from tests.factories import SAMPLE_FILES, create_site_api


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_templates_listed(client: FlaskClient, make_token: Callable[..., str]) -> None:
    response = client.get("/api/v1/templates", headers=bearer(make_token()))
    assert response.status_code == 200
    names = {t["name"] for t in response.get_json()["templates"]}
    assert names >= set(SAMPLE_FILES)
    assert all(
        {"title", "description", "version"} <= set(t) for t in response.get_json()["templates"]
    )


@pytest.mark.parametrize("template", sorted(SAMPLE_FILES))
def test_create_poll_publish_and_read_through_api(
    app: Flask,
    client: FlaskClient,
    make_token: Callable[..., str],
    samples_dir: Path,
    template: str,
) -> None:
    token = make_token()
    expires = (dt.date.today() + dt.timedelta(days=60)).isoformat()
    created = create_site_api(client, token, samples_dir, template, expires_on=expires)
    assert created.status_code == 202, created.get_json()
    body = created.get_json()
    site_id, job_id = body["site"]["id"], body["job"]["id"]
    assert body["job"]["status"] == "queued" and body["site"]["expires_on"] == expires
    wait_for_jobs(app)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(token)).get_json()
    assert job["status"] == "succeeded" and job["version"] == 1 and job["site_id"] == site_id
    versions = client.get(f"/api/v1/sites/{site_id}/versions", headers=bearer(token)).get_json()
    provenance = versions["versions"][0]
    assert provenance["template"] == template and provenance["model"] == "offline-drafter"
    assert {s["filename"] for s in provenance["sources"]} == set(SAMPLE_FILES[template])
    one = client.get(f"/api/v1/sites/{site_id}/versions/1", headers=bearer(token)).get_json()
    assert isinstance(one["content"], dict) and one["content"]
    published = client.post(
        f"/api/v1/sites/{site_id}/publish",
        json={"version": 1, "audience": "workspace"},
        headers=bearer(token),
    )
    assert published.status_code == 200, published.get_json()
    site = client.get(f"/api/v1/sites/{site_id}", headers=bearer(token)).get_json()
    assert site["published_version"] == 1 and site["status"] == "published"
    assert site["url"].endswith(f"/s/{site['slug']}/")
    # Scripts can read the page with the same token.
    page = client.get(f"/s/{site['slug']}/", headers=bearer(token))
    assert page.status_code == 200 and b"<html" in page.data
    listed = client.get("/api/v1/sites", headers=bearer(token)).get_json()
    assert [s["id"] for s in listed["sites"]] == [site_id]


def test_token_of_one_user_cannot_touch_anothers_site(
    app: Flask, client: FlaskClient, make_token: Callable[..., str], samples_dir: Path
) -> None:
    owner, other = make_token("owner@example.com"), make_token("other@example.com")
    created = create_site_api(client, owner, samples_dir).get_json()
    wait_for_jobs(app)
    site_id, job_id = created["site"]["id"], created["job"]["id"]
    for path in (
        f"/api/v1/sites/{site_id}",
        f"/api/v1/sites/{site_id}/versions",
        f"/api/v1/sites/{site_id}/versions/1",
        f"/api/v1/jobs/{job_id}",
    ):
        response = client.get(path, headers=bearer(other))
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"
    publish = client.post(
        f"/api/v1/sites/{site_id}/publish", json={"version": 1}, headers=bearer(other)
    )
    assert publish.status_code == 404
    assert client.get("/api/v1/sites", headers=bearer(other)).get_json()["sites"] == []
    slug = created["site"]["slug"]
    assert client.get(f"/s/{slug}/v/1/", headers=bearer(other)).status_code == 404


def test_api_errors_are_json_with_fitting_status(
    client: FlaskClient, make_token: Callable[..., str], samples_dir: Path
) -> None:
    no_token = client.get("/api/v1/sites")
    assert no_token.status_code == 401
    assert no_token.get_json()["error"]["code"] == "not_signed_in"
    bad_token = client.get("/api/v1/sites", headers=bearer("swt_not-a-real-token"))
    assert bad_token.status_code == 401
    token = make_token()
    unknown = create_site_api(client, token, samples_dir, template="nope")
    assert (
        unknown.status_code == 400 and "Unknown template" in unknown.get_json()["error"]["message"]
    )
    bad_date = create_site_api(client, token, samples_dir, expires_on="31/12/2027")
    assert bad_date.status_code == 400
    assert "expires_on" in bad_date.get_json()["error"]["message"]
    too_far = create_site_api(client, token, samples_dir, expires_on="2099-01-01")
    assert too_far.status_code == 400
    assert client.get("/api/v1/sites/999", headers=bearer(token)).status_code == 404
    assert client.get("/api/v1/jobs/nope", headers=bearer(token)).status_code == 404


def test_session_cookie_does_not_authenticate_the_api(client: FlaskClient, auth: object) -> None:
    auth.login()  # type: ignore[attr-defined]
    assert client.get("/api/v1/sites").status_code == 401


def test_openapi_document_lists_the_routes(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    for path in (
        "/templates",
        "/sites",
        "/sites/{site_id}",
        "/sites/{site_id}/versions",
        "/sites/{site_id}/versions/{number}",
        "/sites/{site_id}/publish",
        "/jobs/{job_id}",
    ):
        assert path in document["paths"], path


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "storage": "ok"}


def test_uploads_over_the_limits_are_refused_with_413(
    settings: dict[str, object], samples_dir: Path
) -> None:
    import io

    from app import create_app

    settings.update(MAX_UPLOAD_MB=1, MAX_FILE_MB=1)
    app = create_app(settings)
    client = app.test_client()
    runner = app.test_cli_runner()
    token = runner.invoke(args=["token", "create", "--email", "a@example.com"]).output.split()[-1]
    big = io.BytesIO(b"month,users\n" + b"2026-01,1\n" * 150_000)  # 1.5 MB
    response = client.post(
        "/api/v1/sites",
        headers=bearer(token),
        content_type="multipart/form-data",
        data={"template": "customer_review", "name": "Big", "files": [(big, "big.csv")]},
    )
    assert response.status_code == 413
    assert "too large" in response.get_json()["error"]["message"]
    response.request.input_stream.close()  # the test client spooled the body to a temp file
    app.extensions["sitewright.deps"].runner.shutdown()
    app.extensions["sitewright.db"].dispose()
