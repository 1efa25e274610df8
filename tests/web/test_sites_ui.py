"""The builder's path in the UI: new site, progress, preview, publish, open at /s/<slug>/."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Auth, csrf_from, wait_for_jobs
from tests.factories import SAMPLE_FILES, create_site_ui


def make_published(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    samples_dir: Path,
    template: str = "customer_review",
    audience: str = "workspace",
) -> dict:
    auth.login()
    created = create_site_ui(client, samples_dir, template)
    assert created.status_code == 303, created.get_data(as_text=True)
    wait_for_jobs(app)
    status = client.get(created.location + "/status").get_json()
    assert status["status"] == "succeeded", status
    detail = client.get(status["site_url"])
    publish = client.post(
        f"{status['site_url']}/publish",
        data={
            "csrf_token": csrf_from(detail.get_data(as_text=True)),
            "version": status["version"],
            "audience": audience,
        },
    )
    assert publish.status_code == 303
    slug = status["preview_url"].split("/")[2]
    return {"slug": slug, **status}


@pytest.mark.parametrize("template", sorted(SAMPLE_FILES))
def test_builder_makes_and_publishes_each_template(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path, template: str
) -> None:
    site = make_published(app, client, auth, samples_dir, template)
    progress = client.get(f"/sites/{site['site_id']}/jobs/{site['id']}")
    assert progress.status_code == 200 and b"Reading files" in progress.data
    preview = client.get(site["preview_url"])
    assert preview.status_code == 200
    page = client.get(f"/s/{site['slug']}/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"Test {template}" in html
    assert "Drafted without an AI model" in html  # no LLM configured in this app
    assert "Sources" in html and SAMPLE_FILES[template][0] in html
    assert "Builder" in html and "Sales" in html  # owner and department
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    assert "<script>" not in html.replace("<script src=", "").replace(
        '<script type="application/json"', ""
    )


def test_new_site_form_is_prefilled_and_keeps_input_on_error(
    client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    auth.login()
    page = client.get("/new").get_data(as_text=True)
    assert 'name="expires_on"' in page and 'type="date"' in page
    for template in SAMPLE_FILES:
        assert f'value="{template}"' in page
    bad = create_site_ui(
        client, samples_dir, name="Kept name", prompt="Kept prompt", expires_on="2001-01-01"
    )
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "expiry date must be in the future" in html
    assert "Kept name" in html and "Kept prompt" in html


def test_unreadable_file_is_refused_with_reason(
    client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    auth.login()
    files = [(open(samples_dir / "adversarial" / "binary_named.csv", "rb"), "binary_named.csv")]
    response = create_site_ui(client, samples_dir, files=files)
    for handle, _ in files:
        handle.close()
    assert response.status_code == 400
    assert "binary_named.csv" in response.get_data(as_text=True)


def test_owner_only_site_is_hidden_from_other_members(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    site = make_published(app, client, auth, samples_dir, audience="owner")
    other = app.test_client()
    auth.login("colleague@example.com", "Colleague", client=other)
    assert other.get(f"/s/{site['slug']}/").status_code == 404
    assert other.get(site["preview_url"]).status_code == 404
    assert other.get(site["site_url"]).status_code == 404
    assert f"/s/{site['slug']}/" not in other.get("/").get_data(as_text=True)
    assert other.get(f"/sites/{site['site_id']}/jobs/{site['id']}/status").status_code == 404


def test_workspace_site_is_visible_to_members_but_drafts_are_not(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    site = make_published(app, client, auth, samples_dir, audience="workspace")
    other = app.test_client()
    auth.login("colleague@example.com", "Colleague", client=other)
    assert other.get(f"/s/{site['slug']}/").status_code == 200
    assert other.get(site["preview_url"]).status_code == 404  # versions are for the owner
    page = other.get(f"/s/{site['slug']}/").get_data(as_text=True)
    assert f"/sites/{site['site_id']}/annotate?version=1" in page  # members may comment
    assert "Versions, sharing and details" not in page
    annotate = other.get(f"/sites/{site['site_id']}/annotate?version=1")
    assert annotate.status_code == 200
    assert "Versions, sharing and details" in client.get(f"/s/{site['slug']}/").get_data(
        as_text=True
    )
    listed = other.get("/").get_data(as_text=True)
    assert "Shared with the workspace" in listed and f"/s/{site['slug']}/" in listed
    admin = app.test_client()
    auth.login("admin@example.com", "Admin", client=admin)
    assert admin.get(site["preview_url"]).status_code == 200


def test_unpublished_draft_is_not_served_to_others(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    auth.login()
    created = create_site_ui(client, samples_dir)
    wait_for_jobs(app)
    status = client.get(created.location + "/status").get_json()
    slug = status["preview_url"].split("/")[2]
    other = app.test_client()
    auth.login("colleague@example.com", client=other)
    assert other.get(f"/s/{slug}/").status_code == 404
    draft = client.get(status["preview_url"]).get_data(as_text=True)
    assert "Draft: version 1 is not the published version" in draft


def test_signed_out_visitor_is_sent_to_sign_in(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    site = make_published(app, client, auth, samples_dir)
    anonymous = app.test_client()
    response = anonymous.get(f"/s/{site['slug']}/")
    assert response.status_code == 302
    assert response.location.startswith("/auth/login?next=/s/")
    assert anonymous.get("/").status_code == 302
    assert anonymous.get("/new").status_code == 302


def test_unknown_slug_and_plotly_served_locally(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login()
    assert client.get("/s/nope-000000/").status_code == 404
    plotly = client.get("/static/vendor/plotly.min.js")
    assert plotly.status_code == 200 and plotly.mimetype == "text/javascript"
    plotly.close()


def test_forms_require_csrf(client: FlaskClient, auth: Auth) -> None:
    auth.login()
    response = client.post("/new", data={"template": "customer_review", "name": "x"})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
