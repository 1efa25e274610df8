"""Screenshots of every template's site page in headless Chromium, at desktop and phone width.

Makes a throwaway workspace in a temporary folder (SQLite, the offline drafter, no network),
creates one site per installed template from the sample files in ``../shared/samples/<template>/``
(``--content example``: the template's example files and example content, as ``sitewright demo``
does), publishes it to the workspace, serves the app on loopback and opens each page as a
colleague would. Saves ``<template>-desktop.png`` (1366×900) and ``<template>-phone.png``
(390×844) into ``--out`` and prints, per page, the console errors and the charts drawn.

Exits 1 on any console error, chart not drawn or horizontal scrolling, or a draft that failed.

    .venv/bin/python scripts/screenshots.py [--out screenshots/] [--content samples|example]
        [--max-height PX] [--color-scheme light|dark] [--samples DIR] [--chromium PATH]
"""

from __future__ import annotations

import argparse
import io
import logging
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app import create_app  # noqa: E402
from app.cli import upgrade_database  # noqa: E402

SAMPLES = REPO.parent / "shared" / "samples"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
OWNER = ("owner@example.com", "Dana Whitfield")
VIEWER = ("colleague@example.com", "Sam Okafor")
ALL_DRAWN = """() => [...document.querySelectorAll('.plot')].every(
    p => p.dataset.drawn === 'true' && p.querySelector('svg.main-svg'))"""


@dataclass
class Shot:
    """What one page showed at one width."""

    template: str
    width: str
    path: Path
    charts: int = 0
    drawn: int = 0
    overflow: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.drawn == self.charts and self.overflow <= 0


def workspace_app(data_dir: Path) -> Flask:
    """An app on a fresh SQLite file in ``data_dir`` that drafts offline."""
    app = create_app(
        {
            "SECRET_KEY": "screenshots-only",
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir / 'sitewright.db'}",
            "DEV_LOGIN": True,  # to sign the viewer in; turned off before the pictures
            "LLM_BASE_URL": "",
            "LLM_API_KEY": "",
            "SWEEP_MINUTES": 0,
        }
    )
    upgrade_database(app)
    return app


def token_for(app: Flask, email: str, name: str) -> str:
    """Create a personal API token through the CLI."""
    result = app.test_cli_runner().invoke(
        args=["token", "create", "--email", email, "--name", name]
    )
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


def sites_from_samples(app: Flask, samples: Path) -> dict[str, str]:
    """Create and publish one site per template from its sample files; return template -> URL.

    A template whose draft fails is left out, with the reason printed.
    """
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token_for(app, *OWNER)}"}
    urls: dict[str, str] = {}
    for template in app.extensions["sitewright.deps"].registry:
        folder = samples / template.name
        files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        answer = client.post(
            "/api/v1/sites",
            headers=auth,
            content_type="multipart/form-data",
            data={
                "template": template.name,
                "name": template.title,
                "department": "Finance" if template.name == "scenario_planner" else "Sales",
                "prompt": template.description,
                "files": [(io.BytesIO(p.read_bytes()), p.name) for p in files],
            },
        )
        assert answer.status_code == 202, answer.get_data(as_text=True)
        site, job = answer.get_json()["site"], answer.get_json()["job"]
        failure = _wait_for(client, auth, job["id"])
        if failure:
            print(f"PROBLEM {template.name}: the draft failed: {failure}")
            continue
        published = client.post(
            f"/api/v1/sites/{site['id']}/publish",
            headers=auth,
            json={"version": 1, "audience": "workspace"},
        )
        assert published.status_code == 200, published.get_data(as_text=True)
        urls[template.name] = f"/s/{site['slug']}/"
    return urls


def sites_from_examples(app: Flask) -> dict[str, str]:
    """Load the demo workspace (example files and content); return template -> URL."""
    from app.demo import load_demo

    with app.app_context():
        lines = list(load_demo(app.extensions["sitewright.deps"]))
    registry = app.extensions["sitewright.deps"].registry
    urls = {}
    for template, line in zip((t.name for t in registry), lines, strict=True):
        match = re.search(r"/s/[^/]+/", line)
        assert match, line
        urls[template] = match[0]
    return urls


def _wait_for(client: FlaskClient, auth: dict[str, str], job_id: str) -> str:
    """Wait for a generation job; return "" when it succeeded, else what went wrong."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json or {}
        if state.get("status") == "succeeded":
            return ""
        if state.get("status") == "failed":
            return str(state.get("error"))
        time.sleep(0.2)
    return "it did not finish in 120 s"


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve the app on a free loopback port; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def photograph(
    browser: Any, base: str, state: dict[str, Any], template: str, url: str, args: Any
) -> Iterator[Shot]:
    """Open one page at each width, check it and save a full-page screenshot."""
    suffix = "-dark" if args.color_scheme == "dark" else ""
    for width, (w, h) in VIEWPORTS.items():
        context = browser.new_context(
            viewport={"width": w, "height": h},
            storage_state=state,
            color_scheme=args.color_scheme,
        )
        tab = context.new_page()
        shot = Shot(template, width, args.out / f"{template}-{width}{suffix}.png")
        tab.on("console", lambda m, s=shot: s.errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e, s=shot: s.errors.append(str(e)))
        tab.goto(base + url, wait_until="load")
        shot.charts = tab.locator(".plot").count()
        try:
            tab.wait_for_function(ALL_DRAWN, timeout=20_000)
        except Exception:  # noqa: BLE001, S110 - counted below and reported as not drawn
            pass
        shot.drawn = tab.locator(".plot[data-drawn=true]:has(svg.main-svg)").count()
        shot.overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        height = tab.evaluate("document.documentElement.scrollHeight")
        if args.max_height:
            height = min(height, args.max_height)
        clip = {"x": 0, "y": 0, "width": w, "height": height}
        tab.screenshot(path=str(shot.path), full_page=True, clip=clip)
        context.close()
        yield shot


def main(argv: list[str] | None = None) -> int:
    """Make the sites, take the screenshots and report; 1 if any page had a problem."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "screenshots", help="folder for PNGs")
    parser.add_argument(
        "--content",
        choices=("samples", "example"),
        default="samples",
        help="sites from ../shared/samples with the offline drafter, or the templates' examples",
    )
    parser.add_argument("--samples", type=Path, default=SAMPLES, help="folder of sample files")
    parser.add_argument(
        "--max-height",
        type=int,
        default=0,
        metavar="PX",
        help="save only the top of each page, at most PX pixels (default: the whole page)",
    )
    parser.add_argument(
        "--color-scheme",
        choices=("light", "dark"),
        default="light",
        help="the reader's colour scheme (dark: files end in -dark.png)",
    )
    parser.add_argument("--chromium", default=CHROMIUM, help="path of the Chromium binary")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="sitewright-shots-") as tmp:
        app = workspace_app(Path(tmp))
        try:
            if args.content == "example":
                urls = sites_from_examples(app)
            else:
                urls = sites_from_samples(app, args.samples)
            with serving(app) as base, sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS
                )
                context = browser.new_context()
                tab = context.new_page()
                tab.goto(f"{base}/auth/dev")
                tab.fill("#email", VIEWER[0])
                tab.fill("#name", VIEWER[1])
                tab.click("button[type=submit]")
                tab.wait_for_url(f"{base}/")
                state = context.storage_state()
                context.close()
                # Members see no development banner: the viewer is signed in, turn it off.
                app.config["DEV_LOGIN"] = False
                shots = [
                    shot
                    for template, url in urls.items()
                    for shot in photograph(browser, base, state, template, url, args)
                ]
                browser.close()
        finally:
            app.extensions["sitewright.deps"].close()
            app.extensions["sitewright.db"].dispose()

    for shot in shots:
        verdict = "ok" if shot.ok else "PROBLEM"
        print(
            f"{verdict:7} {shot.template:18} {shot.width:7} charts drawn {shot.drawn}/{shot.charts}"
            f"  horizontal overflow {max(shot.overflow, 0)}px  console errors {len(shot.errors)}"
            f"  -> {shot.path}"
        )
        for error in shot.errors:
            print(f"        console: {error}")
    templates = [t.name for t in app.extensions["sitewright.deps"].registry]
    return 0 if list(urls) == templates and all(shot.ok for shot in shots) else 1


if __name__ == "__main__":
    raise SystemExit(main())
