"""Sites made from the shared samples through the loopback model replaying realistic answers.

Each template has a replay under ``replays/``: the JSON a careful model returns for that
template's samples. The pages are rendered against a fixed day (the renderer's clock), so what
is overdue and how many days are left do not depend on when the tests run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Auth, wait_for_jobs
from tests.content.conftest import OWNER, bearer
from tests.factories import create_site_api
from tests.fakes.llm_server import FakeLLMServer, Reply

REPLAYS = Path(__file__).parent / "replays"
# Set SITEWRIGHT_SCREENSHOTS=<folder> to keep screenshots of the pages for people to look at.
SHOTS = os.environ.get("SITEWRIGHT_SCREENSHOTS", "")


def shoot(tab: Any, name: str, *sections: str) -> None:
    """Save a full-page screenshot, and one of each section named by its id, when
    SITEWRIGHT_SCREENSHOTS names a folder."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
        for section_id in sections:
            path = Path(SHOTS) / f"{name}-{section_id}.png"
            tab.locator(f"#{section_id}").screenshot(path=str(path))


def replay(template: str) -> dict[str, Any]:
    """Return the replayed model answer for a template's samples."""
    content: dict[str, Any] = json.loads((REPLAYS / f"{template}.json").read_text("utf-8"))
    return content


class ReplayedModel:
    """Answers a draft with queued answers, then the replay; a revision with queued patches."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.drafts: list[str] = []
        self.patches: list[str] = []

    def __call__(self, body: dict[str, Any]) -> Reply:
        name = body.get("response_format", {}).get("json_schema", {}).get("name")
        if name == "json_patch":
            return Reply(content=self.patches.pop(0) if self.patches else '{"operations": []}')
        if self.drafts:
            return Reply(content=self.drafts.pop(0))
        return Reply(content=json.dumps(replay(self.template)))


@pytest.fixture
def app(llm_app: Flask) -> Flask:
    """The application drafting through the loopback model."""
    return llm_app


@pytest.fixture
def owner_token(make_token: Callable[..., str]) -> str:
    """An API token of the builder who owns the sites made here."""
    return make_token(OWNER)


@dataclass
class SiteUnderTest:
    """A site made from the samples, and how to read it."""

    app: Flask
    client: FlaskClient
    token: str
    site_id: int
    slug: str

    def page(self, version: int) -> str:
        """The rendered page of one version, as its owner sees it."""
        response = self.client.get(f"/s/{self.slug}/v/{version}/")
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)


def make_site(
    app: Flask,
    client: FlaskClient,
    token: str,
    samples_dir: Path,
    template: str,
    today: dt.date,
) -> SiteUnderTest:
    """Create a site from the template's samples, rendered as on ``today``; sign its owner in."""
    app.extensions["sitewright.deps"].renderer.today = lambda: today
    created = create_site_api(client, token, samples_dir, template)
    assert created.status_code == 202, created.get_json()
    wait_for_jobs(app)
    body = created.get_json()
    job = client.get(f"/api/v1/jobs/{body['job']['id']}", headers=bearer(token)).get_json()
    assert job["status"] == "succeeded", job
    Auth(client).login(OWNER, "Owner")
    return SiteUnderTest(app, client, token, body["site"]["id"], body["site"]["slug"])


@pytest.fixture
def loopback_model(llm_server: FakeLLMServer, request: pytest.FixtureRequest) -> ReplayedModel:
    """The loopback model replaying the answer for the template named by the test module."""
    model = ReplayedModel(request.module.TEMPLATE)
    llm_server.responder = model
    return model


@dataclass
class Element:
    """One element of a page: its attributes and its text."""

    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def find_all(self, tag: str, **attrs: str) -> list[Element]:
        """Every descendant with this tag and these attribute values (``class_`` for class)."""
        found = []
        for child in self.children:
            wanted = {k.rstrip("_"): v for k, v in attrs.items()}
            if child.tag == tag and all(
                v in child.attrs.get(k, "").split() if k == "class" else child.attrs.get(k) == v
                for k, v in wanted.items()
            ):
                found.append(child)
            found.extend(child.find_all(tag, **attrs))
        return found

    def find(self, tag: str, **attrs: str) -> Element:
        """The first descendant with this tag and these attributes."""
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag} {attrs}>"
        return found[0]

    @property
    def words(self) -> str:
        """The element's text with white space collapsed."""
        return " ".join(self.text.split())


VOID = {"br", "hr", "img", "input", "link", "meta", "source", "wbr", "col"}


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text += data


def parse(html: str) -> Element:
    """Parse a page into elements (text of each includes its descendants' text)."""
    tree = _Tree()
    tree.feed(html)
    tree.close()
    return tree.root


def table_rows(table: Element) -> list[list[str]]:
    """The text of every row of a table, header row first."""
    return [
        [cell.words for cell in row.children if cell.tag in ("th", "td")]
        for row in table.find_all("tr")
    ]


def figure_json(page: Element, element_id: str) -> dict[str, Any]:
    """The plotly figure a page embeds under ``element_id``."""
    script = page.find("script", id=element_id)
    assert script.attrs.get("type") == "application/json"
    figure: dict[str, Any] = json.loads(script.text)
    return figure


def section(page: Element, section_id: str) -> Element:
    """The page's section with this id."""
    return page.find("section", id=section_id)
