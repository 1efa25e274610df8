"""The offline drafter: useful, schema-valid content from files alone, whatever the files are."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from app.ingest import IngestedFile, IngestError, Table, ingest
from app.llm.base import DraftRequest
from app.llm.offline import OfflineDrafter
from app.render import PageContext, SiteRenderer
from app.site_template import SiteTemplate, load_registry, load_template
from app.validation import iter_data_refs, validate_content

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "site_templates"
REGISTRY = load_registry(TEMPLATES)
ADVERSARIAL = [
    "injection.md",
    "xss_and_formula.csv",
    "binary_named.csv",
    "empty.csv",
    "semicolon_decimal_comma.csv",
    "latin1.csv",
]


@pytest.fixture(scope="module")
def samples() -> Path:
    """The shared sample files, next to the repository."""
    path = Path(__file__).resolve().parents[2] / "shared" / "samples"
    if not path.is_dir():
        pytest.skip(f"shared samples not found at {path}; the drafter tests read them")
    return path


def read(folder: Path) -> list[IngestedFile]:
    return [ingest(path.name, path.read_bytes()) for path in sorted(folder.iterdir())]


def draft(template: SiteTemplate, files: list[IngestedFile], prompt: str = "") -> dict[str, Any]:
    """Draft offline and assert the content is valid for the template and the files."""
    content = OfflineDrafter().draft_content(template.spec, prompt, files)
    columns = {t.name: list(t.frame.columns) for f in files for t in f.tables}
    assert validate_content(template, content, columns) == []
    return content


def render(template: SiteTemplate, content: dict[str, Any], files: list[IngestedFile]) -> str:
    context = PageContext(
        site={
            "name": "Offline draft",
            "owner_name": "Ann",
            "owner_email": "ann@example.com",
            "department": "Ops",
            "expires_on": "2027-06-30",
            "data_source_note": "",
            "purpose": "",
        },
        version={
            "number": 1,
            "created_at": "2026-11-24 10:00",
            "model": "offline-drafter",
            "offline": True,
            "author": "Ann",
        },
    )
    frames = {t.name: t.frame for f in files for t in f.tables}
    return SiteRenderer(TEMPLATES).render(template, content, context, frames)


def template(name: str) -> SiteTemplate:
    found = REGISTRY.get(name)
    assert found is not None
    return found


def refs(spec: SiteTemplate, content: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [ref for k, _, ref in iter_data_refs(content, spec.data_refs) if k == kind]


class Tags(HTMLParser):
    """Start tags with their attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    """No script but ours, no event handler attribute, no javascript: link, no image."""
    parser = Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert not (attrs.get("href") or "").strip().lower().startswith("javascript:")
        if tag == "script":
            assert attrs.get("type") == "application/json" or (attrs.get("src") or "").startswith(
                "/static/"
            ), attrs
        assert tag not in {"img", "iframe", "object", "embed"}


# --- the built-in templates with their samples ------------------------------------------------


@pytest.mark.parametrize("spec", list(REGISTRY), ids=REGISTRY.names())
def test_samples_draft_valid_and_render(spec: SiteTemplate, samples: Path) -> None:
    files = read(samples / spec.name)
    content = draft(spec, files, prompt="Make the page from these files.")
    html = render(spec, content, files)
    assert "Drafted without an AI model" in html
    assert html.count('data-figure="fig-') == len(refs(spec, content, "chart"))
    assert_inert(html)


def test_customer_review(samples: Path) -> None:
    spec = template("customer_review")
    content = draft(spec, read(samples / "customer_review"))
    account = content["account"]
    assert account["name"] == "Northwind Logistics"
    assert account["renewal_date"] == "2027-03-31"
    assert "1,100" in (account["seats"] or "")
    assert account["arr"] == "412,000 USD"
    steps = content["next_steps"]
    assert {"owner": "Tomás Ortega", "due_date": "2026-12-15"}.items() <= steps[0].items()
    assert "adoption workshop in Rotterdam" in steps[0]["action"]
    assert {s["due_date"] for s in steps} == {"2026-12-15", "2027-01-20", "2026-12-05"}
    assert any(s["owner"] == "Solutions engineering" for s in steps)
    questions = [q["question"] for q in content["open_questions"]]
    assert len(questions) == 3 and questions[0].startswith("Will they expand to the Hamburg")
    assert any("Rotterdam warehouse" in point for point in content["customer_feedback"])
    updates = {u["status"] for u in content["product_updates"]}
    assert updates == {"shipped", "in beta", "slipped"}
    usage = content["usage_charts"]
    assert usage and all(c["source"] == "usage.csv" and c["x"] == "month" for c in usage)
    assert ["active_users", "seats_purchased"] in [c["y"] for c in usage]
    support = content["support_charts"]
    assert {"x": "category", "aggregate": "count", "source": "tickets.csv"}.items() <= support[
        0
    ].items()
    assert any(c["x"] == "severity" for c in support)
    assert content["support_tables"][0]["source"] == "tickets.csv"
    contacts = {c["name"]: c["side"] for c in content["contacts"]}
    assert contacts["Priya Raman"] == "ours" and contacts["Dana Kim"] == "customer"
    assert content["health"]["status"] == "unknown"  # rules do not judge health


def test_launch_hub(samples: Path) -> None:
    spec = template("launch_hub")
    content = draft(spec, read(samples / "launch_hub"))
    assert content["launch_name"] == "Atlas Reports 2.0"
    assert (content["ga_date"], content["beta_date"]) == ("2027-02-10", "2027-01-13")
    milestones = {m["name"]: m for m in content["milestones"]}
    assert len(milestones) == 6
    review = milestones["Security review sign-off"]
    assert review["status"] == "at risk" and review["due_date"] == "2027-01-08"
    assert review["owner"] == "Alicia Gomez (Security)"
    assert milestones["Feature freeze"]["status"] == "on track"
    assert milestones["Press briefing"]["status"] == "not started"
    table = content["decisions_table"]
    assert table["source"] == "decisions.csv"
    assert table["columns"] == ["date", "decision", "decided_by", "rationale"]
    assert table["max_rows"] >= 4
    assert content["decisions"] == []  # the table shows them; no copy
    messaging = content["messaging"]
    assert messaging["positioning"].startswith("Atlas Reports 2.0 turns scheduled exports")
    assert len(messaging["key_messages"]) == 3
    assert any("real-time" in line for line in messaging["do_not_say"])
    assert messaging["proof_points"][0] == "40 beta customers"
    assert any("pen test" in r["risk"] for r in content["risks"])
    assert [link["label"] for link in content["links"]] == ["Design spec", "Beta feedback form"]
    assert all(link["url"] is None for link in content["links"])
    owners = {o["name"]: o for o in content["owners"]}
    assert owners["Mei Chen"]["raci"] == "accountable"


def test_decisions_become_items_without_a_decisions_table(samples: Path) -> None:
    spec = template("launch_hub")
    schema = json.loads(json.dumps(spec.schema))
    del schema["properties"]["decisions_table"]
    schema["required"].remove("decisions_table")
    content = OfflineDrafter().draft_content(
        type(spec.spec)(name="x", title="x", schema=schema, guidance=""),
        "",
        read(samples / "launch_hub"),
    )
    decisions = content["decisions"]
    assert len(decisions) == 4
    assert decisions[3] == {
        "date": "2026-11-20",
        "decision": "GA date moved from 2027-01-27 to 2027-02-10",
        "decided_by": "Launch steering group",
        "rationale": "Security review slot",
    }


def test_scenario_planner(samples: Path) -> None:
    spec = template("scenario_planner")
    files = read(samples / "scenario_planner")
    content = draft(spec, files)
    assert [s["name"] for s in content["scenarios"]] == ["Base", "Optimistic", "Pessimistic"]
    assert [s["is_base"] for s in content["scenarios"]] == [True, False, False]
    assert content["model"] == {
        "assumptions_source": "model.xlsx#Assumptions",
        "label_column": "Assumption",
        "unit_column": "Unit",
        "source_column": "Source",
        "projection_source": "model.xlsx#Projection",
        "period_column": "Month",
        "scenario_column": "Scenario",
        "output_columns": ["Customers", "Revenue", "Gross profit", "Operating result"],
        "drivers": None,
        "horizon_periods": None,
        "primary_output": "Operating result",
    }
    assert content["horizon"] == "12 months"
    pessimistic = content["scenarios"][2]["description"]
    assert pessimistic.startswith("Lower monthly new customers, higher monthly churn")
    assert content["method"].startswith("To fill in: how the model works")
    history = content["history_charts"]
    assert history and {c["source"] for c in history} == {"history.csv"}
    assert any(c["y"] == ["revenue_usd"] for c in history)
    # The projection sheet holds formulas without saved results: no empty charts or tables.
    assert all(r["source"] != "model.xlsx#Projection" for r in refs(spec, content, "table"))
    assert all(r["source"] != "model.xlsx#Projection" for r in refs(spec, content, "chart"))
    assert any("not approved for external use" in c for c in content["caveats"])


def test_scenario_planner_with_history_only(samples: Path) -> None:
    spec = template("scenario_planner")
    files = read(samples / "scenario_planner")
    history = [f for f in files if f.filename == "history.csv"]
    content = draft(spec, history)
    assert content["history_charts"]
    assert content["model"] is None
    assert len(content["scenarios"]) == 1  # minItems 1: one honest filler
    assert "No scenarios found" in content["scenarios"][0]["name"]
    render(spec, content, history)


# --- hostile and empty input ----------------------------------------------------------------


@pytest.mark.parametrize("name", ADVERSARIAL)
@pytest.mark.parametrize("spec", list(REGISTRY), ids=REGISTRY.names())
def test_each_hostile_file_alone(spec: SiteTemplate, samples: Path, name: str) -> None:
    try:
        files = [ingest(name, (samples / "adversarial" / name).read_bytes())]
    except IngestError:
        pytest.skip(f"{name} does not ingest (the upload is refused with a clear error)")
    content = draft(spec, files, prompt="Summarise the file.")
    assert_inert(render(spec, content, files))


@pytest.mark.parametrize("spec", list(REGISTRY), ids=REGISTRY.names())
def test_no_files(spec: SiteTemplate) -> None:
    content = draft(spec, [], prompt="")
    render(spec, content, [])
    assert draft(spec, [], prompt="Quarterly review for Contoso") is not None


def test_injection_stays_text(samples: Path) -> None:
    spec = template("customer_review")
    files = [ingest("injection.md", (samples / "adversarial" / "injection.md").read_bytes())]
    content = draft(spec, files)
    assert content["account"]["renewal_date"] == "2027-03-31"
    html = render(spec, content, files)
    assert_inert(html)
    assert "&lt;script&gt;fetch(" in html  # shown, escaped, as the file's words
    assert "<script>fetch" not in html


def test_xss_cells_are_escaped_in_tables(samples: Path) -> None:
    spec = template("customer_review")
    name = "xss_and_formula.csv"
    files = [ingest(name, (samples / "adversarial" / name).read_bytes())]
    content = draft(spec, files)
    assert [t["source"] for t in content["support_tables"]] == [name]
    html = render(spec, content, files)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_inert(html)


def odd_file(name: str, frame: pd.DataFrame) -> IngestedFile:
    return IngestedFile(filename=name, kind="table", tables=[Table(name, frame)], text=None)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(),
        pd.DataFrame({"count": ["a", "b", "a", "b"], "n": [1, 2, 3, 4]}),
        pd.DataFrame({"month": ["2026-01", "2026-02"], "x": [float("nan"), float("nan")]}),
        pd.DataFrame({"date": pd.to_datetime(["2026-01-01", "2026-01-02"]), "v": [1.5, 2.5]}),
        pd.DataFrame({"mixed": [1, "a", None, 2.5], "<b>": ["<i>", "x", "y", "z"]}),
        pd.DataFrame({"v": [float("inf"), -1e300, 0, 1]}),
    ],
    ids=["empty", "column-named-count", "all-nan", "datetimes", "mixed", "extremes"],
)
@pytest.mark.parametrize("spec", list(REGISTRY), ids=REGISTRY.names())
def test_odd_tables_never_break_a_draft(spec: SiteTemplate, frame: pd.DataFrame) -> None:
    files = [odd_file("odd.csv", frame)]
    content = draft(spec, files)
    render(spec, content, files)


def test_odd_text_never_breaks_a_draft() -> None:
    text = "\n".join(
        [
            "# ",
            "##",
            "| a |",
            "|---|",
            "| b | c | d |",
            "- ",
            "**:** x",
            "Key: " + "v" * 5000,
            "\x00\ufeff",
            "1. " * 50,
            "## Risks",
            "- " * 30,
        ]
    )
    files = [IngestedFile(filename="odd.md", kind="text", tables=[], text=text)]
    for spec in REGISTRY:
        draft(spec, files)


# --- the provider contract and other templates ---------------------------------------------


def test_draft_follows_the_provider_contract(samples: Path) -> None:
    spec = template("launch_hub")
    files = read(samples / "launch_hub")
    drafter = OfflineDrafter()
    answer = drafter.draft(
        DraftRequest(template=spec.spec, prompt="Launch page", digest="", files=files)
    )
    assert (drafter.name, drafter.model) == ("offline", "offline-drafter")
    assert answer.offline and answer.model == "offline-drafter"
    assert (answer.tokens_in, answer.tokens_out) == (0, 0)
    assert answer.content is not None and json.loads(answer.raw) == answer.content
    assert answer.content["launch_name"] == "Atlas Reports 2.0"


NEW_TEMPLATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["incident", "started_on", "impact", "action_items", "lessons", "charts"],
    "properties": {
        "incident": {"type": "string", "description": "Incident title."},
        "started_on": {
            "type": ["string", "null"],
            "description": "When the incident started, as YYYY-MM-DD.",
        },
        "impact": {"type": ["string", "null"], "description": "Customer impact, plain text."},
        "action_items": {
            "type": "array",
            "description": "Follow-up actions.",
            "maxItems": 10,
            "items": {
                "type": "object",
                "description": "One action.",
                "additionalProperties": False,
                "required": ["action", "owner", "due_date", "priority"],
                "properties": {
                    "action": {"type": "string", "description": "What to do."},
                    "owner": {"type": ["string", "null"], "description": "Who."},
                    "due_date": {
                        "type": ["string", "null"],
                        "description": "Due date as YYYY-MM-DD.",
                    },
                    "priority": {
                        "type": "string",
                        "enum": ["high", "medium", "low"],
                        "description": "Priority.",
                    },
                },
            },
        },
        "lessons": {
            "type": "array",
            "description": "Lessons learned.",
            "minItems": 1,
            "items": {"type": "string", "description": "One lesson."},
        },
        "charts": {
            "type": "array",
            "description": "Charts of error rates.",
            "maxItems": 2,
            "items": {
                "type": "object",
                "description": "A chart.",
                "additionalProperties": False,
                "required": ["title", "source", "kind", "x", "y", "aggregate"],
                "properties": {
                    "title": {"type": "string", "description": "T."},
                    "source": {"type": "string", "description": "S."},
                    "kind": {
                        "type": "string",
                        "enum": ["line", "bar", "scatter"],
                        "description": "K.",
                    },
                    "x": {"type": "string", "description": "X."},
                    "y": {
                        "type": "array",
                        "description": "Y.",
                        "items": {"type": "string", "description": "C."},
                    },
                    "aggregate": {
                        "type": "string",
                        "enum": ["none", "sum", "mean", "count"],
                        "description": "A.",
                    },
                },
            },
        },
    },
}
POSTMORTEM = """# Checkout outage — postmortem

Started: 2026-10-03 at 14:10 UTC. Impact: checkout failed for 40 minutes in the EU.

## Action items
- Noor: add a canary for the payment gateway by 2026-10-20 (urgent).
- Ops team: document the failover runbook by 2026-11-01.

## Lessons learned
1. Alerts fired late because the error-rate threshold was too high.
"""


def test_a_new_template_folder_works_too(tmp_path: Path) -> None:
    folder = tmp_path / "postmortem"
    folder.mkdir()
    (folder / "template.toml").write_text(
        'name = "postmortem"\ntitle = "Postmortem"\ndescription = "Incident review"\n'
        'version = "1.0"\ncategories = []\n',
        "utf-8",
    )
    (folder / "schema.json").write_text(json.dumps(NEW_TEMPLATE_SCHEMA), "utf-8")
    (folder / "prompt.md").write_text("Postmortem.", "utf-8")
    (folder / "example.json").write_text("{}", "utf-8")
    (folder / "page.html.j2").write_text(
        '{% extends "site_frame.html.j2" %}{% block content %}'
        "{% for c in content.charts %}{{ chart(c) }}{% endfor %}{% endblock %}",
        "utf-8",
    )
    spec = load_template(folder)
    errors = pd.DataFrame(
        {
            "minute": [f"2026-10-03 14:{m:02d}" for m in range(10, 20)],
            "error_rate": [0.1 * m for m in range(10)],
        }
    )
    files = [
        IngestedFile(filename="notes.md", kind="text", tables=[], text=POSTMORTEM),
        odd_file("errors.csv", errors),
    ]
    content = draft(spec, files)
    assert content["incident"] == "Checkout outage"
    assert content["started_on"] == "2026-10-03"
    assert content["impact"] == "Checkout failed for 40 minutes in the EU"
    first, second = content["action_items"]
    assert (first["owner"], first["due_date"], first["priority"]) == ("Noor", "2026-10-20", "high")
    assert second["owner"] == "Ops team" and second["priority"] == "medium"
    assert content["lessons"][0].startswith("Alerts fired late")
    assert content["charts"][0]["source"] == "errors.csv"
    assert content["charts"][0]["y"] == ["error_rate"]
    html = SiteRenderer(tmp_path).render(
        spec,
        content,
        PageContext(
            site={
                "name": "PM",
                "owner_name": "A",
                "owner_email": "",
                "department": "",
                "expires_on": "2027-01-01",
                "data_source_note": "",
                "purpose": "",
            },
            version={
                "number": 1,
                "created_at": "2026-11-24",
                "model": "offline-drafter",
                "offline": True,
                "author": "A",
            },
        ),
        {"errors.csv": errors},
    )
    assert "data-figure=" in html
