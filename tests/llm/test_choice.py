"""Template choice inputs and answers: the file outline, the offline rules, the answer check."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ingest import ingest
from app.llm.choice import (
    ChoiceRequest,
    FileFacts,
    TemplateOption,
    choice_schema,
    count_formulas,
    file_facts,
    outline,
    read_choice,
)
from app.llm.offline import OfflineDrafter
from app.llm.offline.choose import choose_by_rules
from app.llm.prompts import build_choice_messages
from app.site_template import load_registry
from app.template_rules import schema_problems
from tests.factories import SAMPLE_FILES

REPO = Path(__file__).resolve().parents[2]
OPTIONS = [
    TemplateOption(t.name, t.title, t.description) for t in load_registry(REPO / "site_templates")
]


def facts_of(samples_dir: Path, folder: str) -> list[FileFacts]:
    files = []
    for name in SAMPLE_FILES[folder]:
        data = (samples_dir / folder / name).read_bytes()
        files.append(file_facts(ingest(name, data), data))
    return files


@pytest.mark.parametrize("folder", sorted(SAMPLE_FILES))
def test_rules_choose_the_template_each_sample_set_was_made_for(
    samples_dir: Path, folder: str
) -> None:
    request = ChoiceRequest(
        OPTIONS, "Make a useful site from these files.", facts_of(samples_dir, folder)
    )
    name, reason = choose_by_rules(request)
    assert name == folder
    assert reason.endswith(".") and len(reason) < 200


def test_a_workbook_with_formulas_goes_to_the_scenario_planner(samples_dir: Path) -> None:
    data = (samples_dir / "scenario_planner" / "model.xlsx").read_bytes()
    assert count_formulas(data) > 100
    assert count_formulas(b"not a zip") == 0
    name, reason = choose_by_rules(
        ChoiceRequest(OPTIONS, "", [file_facts(ingest("model.xlsx", data), data)])
    )
    assert name == "scenario_planner"
    assert reason.startswith("model.xlsx is a workbook with formulas")


@pytest.mark.parametrize(
    ("prompt", "expected", "said"),
    [
        ("Forecast revenue under three scenarios", "scenario_planner", "The prompt mentions"),
        ("Renewal prep for Northwind: tickets and usage", "customer_review", "The prompt mentions"),
        ("Milestones and messaging for the Atlas launch", "launch_hub", "The prompt mentions"),
        ("Something else entirely", "customer_review", "Nothing in the prompt or the files"),
    ],
)
def test_rules_read_the_prompt(prompt: str, expected: str, said: str) -> None:
    name, reason = choose_by_rules(ChoiceRequest(OPTIONS, prompt))
    assert name == expected and reason.startswith(said)


def test_a_new_template_is_chosen_by_its_description() -> None:
    options = [
        *OPTIONS,
        TemplateOption("postmortem", "Postmortem", "Incident timeline and lessons."),
    ]
    name, _ = choose_by_rules(ChoiceRequest(options, "Write up the incident from the pager log"))
    assert name == "postmortem"


def test_the_outline_has_names_columns_and_headings_only(samples_dir: Path) -> None:
    text = outline(facts_of(samples_dir, "launch_hub"))
    assert "- decisions.csv: table decisions.csv with columns: date, decision" in text
    assert "headings: Launch plan — Atlas Reports 2.0 | Milestones" in text
    assert "Drop the desktop app" not in text  # a cell value


def test_the_question_fences_the_files_and_lists_the_options(samples_dir: Path) -> None:
    messages = build_choice_messages(
        ChoiceRequest(OPTIONS, "Hi", facts_of(samples_dir, "launch_hub"))
    )
    user = messages[-1]["content"]
    assert "- launch_hub: Launch hub. " in user
    assert user.count("<<<FILES-") == 1 and "UNTRUSTED" in messages[0]["content"]


def test_the_answer_schema_is_strict_and_answers_are_checked() -> None:
    names = ["customer_review", "launch_hub"]
    assert schema_problems(choice_schema(names)) == []
    assert read_choice(
        {"template": "launch_hub", "reason": " Plan\nwith  milestones. "}, names
    ) == (
        "launch_hub",
        "Plan with milestones.",
    )
    assert read_choice({"template": "nope", "reason": "x"}, names) is None
    assert read_choice({"template": "launch_hub", "reason": ""}, names) is None
    assert read_choice(["launch_hub"], names) is None
    long = read_choice({"template": "launch_hub", "reason": "x" * 1000}, names)
    assert long is not None and len(long[1]) == 300


def test_the_offline_drafter_answers_like_a_model() -> None:
    draft = OfflineDrafter().choose(ChoiceRequest(OPTIONS, "Launch milestones"))
    assert draft.offline and draft.tokens_in == 0
    assert read_choice(draft.content, [o.name for o in OPTIONS]) is not None
