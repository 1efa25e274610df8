"""`sitewright templates check`: built-ins and the worked example pass; each broken rule is named.

Broken folders are copies of customer_review with one thing broken; the message must name the
file, the place (JSON Pointer, key or line) and the problem.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.site_template import TemplateError, load_registry
from app.template_check import check_template
from app.template_layout import layout_problems
from app.template_rules import schema_problems

REPO = Path(__file__).resolve().parents[1]
BUILT_INS = sorted(p for p in (REPO / "site_templates").iterdir() if p.is_dir())
WORKED_EXAMPLE = REPO / "docs" / "template_example" / "one_pager"
# No database, no secret key: the command must not build the app.
NO_APP = {"SITEWRIGHT_DATABASE_URL": "postgresql+psycopg://nobody@db.invalid/none"}

Change = Callable[[Path], None]


def run_check(*folders: Path) -> Any:
    return CliRunner().invoke(cli, ["templates", "check", *map(str, folders)], env=NO_APP)


def test_built_ins_and_the_worked_example_pass_without_a_database() -> None:
    result = run_check(*BUILT_INS, WORKED_EXAMPLE)
    assert result.exit_code == 0, result.output
    for folder in (*BUILT_INS, WORKED_EXAMPLE):
        assert f"{folder}: ok" in result.output


def broken_copy(root: Path, name: str = "broken_template") -> Path:
    """Copy customer_review (with its example files) to a folder with its own name."""
    folder = root / name
    shutil.copytree(REPO / "site_templates" / "customer_review", folder)
    toml = (folder / "template.toml").read_text("utf-8")
    (folder / "template.toml").write_text(toml.replace('"customer_review"', f'"{name}"'), "utf-8")
    return folder


def edit_json(name: str, change: Callable[[Any], None]) -> Change:
    def apply(folder: Path) -> None:
        data = json.loads((folder / name).read_text("utf-8"))
        change(data)
        (folder / name).write_text(json.dumps(data), "utf-8")

    return apply


def append_to_layout(text: str) -> Change:
    def apply(folder: Path) -> None:
        page = (folder / "page.html.j2").read_text("utf-8")
        at = page.rindex("{% endblock %}")
        (folder / "page.html.j2").write_text(page[:at] + text + page[at:], "utf-8")

    return apply


def rename_in_toml(folder: Path) -> None:
    toml = (folder / "template.toml").read_text("utf-8")
    (folder / "template.toml").write_text(toml.replace('"broken_template"', '"other"'), "utf-8")


BROKEN: dict[str, tuple[Change, str]] = {
    "undescribed property": (
        edit_json("schema.json", lambda s: s["properties"]["summary"].pop("description")),
        "schema.json #/properties/summary: needs a description",
    ),
    "open object": (
        edit_json("schema.json", lambda s: s["properties"]["account"].pop("additionalProperties")),
        'schema.json #/properties/account: needs "additionalProperties": false',
    ),
    "property not required": (
        edit_json("schema.json", lambda s: s["required"].remove("risks")),
        "schema.json #/required: 'risks' is missing",
    ),
    "pattern keyword": (
        edit_json(
            "schema.json",
            lambda s: s["properties"]["account"]["properties"]["name"].update(pattern="^A"),
        ),
        "schema.json #/properties/account/properties/name: 'pattern' is not allowed",
    ),
    "example breaks the schema": (
        edit_json("example.json", lambda e: e["account"].update(name=42)),
        "example.json /account/name: 42 is not of type 'string'",
    ),
    "layout reads a missing field": (
        append_to_layout("<p>{{ content.nope }}</p>"),
        "content.nope is not in schema.json",
    ),
    "name differs from the folder": (
        rename_in_toml,
        "template.toml name: is 'other' but the folder is 'broken_template'",
    ),
}


@pytest.mark.parametrize(("change", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_folder_fails_naming_the_problem(
    tmp_path: Path, change: Change, message: str
) -> None:
    folder = broken_copy(tmp_path)
    assert check_template(folder) == []  # the copy itself is fine
    change(folder)
    result = run_check(folder)
    assert result.exit_code == 1
    assert f"{folder}: " in result.output and "problem" in result.output
    assert message in result.output, result.output


def test_every_problem_is_listed_and_good_folders_still_say_ok(tmp_path: Path) -> None:
    folder = broken_copy(tmp_path)
    for change, _ in BROKEN.values():
        change(folder)
    result = run_check(WORKED_EXAMPLE, folder)
    assert result.exit_code == 1
    assert f"{WORKED_EXAMPLE}: ok" in result.output
    for change_id, (_, message) in BROKEN.items():
        if change_id != "example breaks the schema":  # not rendered once the layout is broken
            assert message in result.output, change_id
    assert "1 of 2 template folders have problems." in result.output


def test_the_layout_error_names_the_line(tmp_path: Path) -> None:
    folder = broken_copy(tmp_path)
    append_to_layout("\n<p>{{ content.nope }}</p>\n")(folder)
    line = (
        (folder / "page.html.j2").read_text("utf-8").splitlines().index("<p>{{ content.nope }}</p>")
    )
    problems = [str(p) for p in check_template(folder)]
    assert f"page.html.j2 line {line + 1}: content.nope is not in schema.json" in problems[0]
    assert any("rendering the example failed" in p for p in problems[1:])  # and it would fail


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: (f / "prompt.md").unlink(), "prompt.md: missing"),
        (lambda f: (f / "prompt.md").write_text("  \n", "utf-8"), "prompt.md: is empty"),
        (lambda f: (f / "schema.json").write_text("{not json", "utf-8"), "schema.json line 1:"),
        (
            lambda f: (f / "template.toml").write_text(
                (f / "template.toml").read_text("utf-8").replace('["customer"]', '["hr"]'),
                "utf-8",
            ),
            "template.toml categories: unknown 'hr'",
        ),
        (
            edit_json("schema.json", lambda s: s["properties"]["summary"].update(default="")),
            "#/properties/summary: 'default' is not allowed",
        ),
        (
            edit_json("schema.json", lambda s: s["properties"]["summary"].update(minLength=3)),
            "#/properties/summary: 'minLength' is not allowed",
        ),
        (
            edit_json(
                "schema.json",
                lambda s: s["properties"]["summary"].update(type=["string", "number"]),
            ),
            "#/properties/summary: type ['string', 'number']",
        ),
        (
            edit_json(
                "schema.json",
                lambda s: s["properties"].update(extra={"$ref": "#/properties/account"}),
            ),
            "#/properties/extra: '$ref' is not allowed",
        ),
        (
            edit_json("schema.json", lambda s: s["properties"]["risks"].update(minItems=9)),
            "#/properties/risks: minItems (9) is larger than maxItems",
        ),
        (
            lambda f: (f / "page.html.j2").write_text("<p>{{ content.summary }}</p>", "utf-8"),
            'page.html.j2 line 1: must start with {% extends "site_frame.html.j2" %}',
        ),
        (append_to_layout("{% if %}"), "Jinja syntax error"),
        (append_to_layout('<div id="account"></div>'), "repeats element ids ['account']"),
        (append_to_layout('<p data-path="/nowhere"></p>'), 'data-path="/nowhere" points nowhere'),
    ],
    ids=[
        "no-prompt",
        "empty-prompt",
        "bad-json",
        "unknown-category",
        "default",
        "min-length",
        "union-type",
        "ref",
        "min-over-max",
        "no-frame",
        "jinja-syntax",
        "duplicate-id",
        "dangling-anchor",
    ],
)
def test_more_rules(tmp_path: Path, change: Change, message: str) -> None:
    folder = broken_copy(tmp_path)
    change(folder)
    problems = [str(p) for p in check_template(folder)]
    assert any(message in p for p in problems), problems


def test_the_layout_walker_follows_names_bound_to_content() -> None:
    schema = json.loads((REPO / "site_templates/customer_review/schema.json").read_text("utf-8"))
    source = """{% extends "site_frame.html.j2" %}{% block content %}
{% set account = content.account %}{{ account.name }}{{ account.nope_a }}
{% for r in content.risks|sort(attribute="severity") %}{{ r.risk }}{{ r.nope_b }}{% endfor %}
{% for r in content.risks|selectattr("nope_c") %}{% endfor %}
{% with steps = content.next_steps %}{{ steps[0].nope_d }}{% endwith %}
{{ content["nope_e"] }}{{ content.get("nope_f") }}{% if content.nope_g is defined %}{% endif %}
{% macro show(item) %}{{ item.anything }}{% endmacro %}{{ show(content.account) }}
{% for key, value in content.items() %}{{ value.anything }}{% endfor %}
{{ content.summary.upper() }}{{ loop }}{{ site.name }}
{% endblock %}"""
    missing = {p.message.split(" ", 1)[0] for p in layout_problems(source, schema)}
    assert missing == {
        "content.account.nope_a",
        "content.risks[].nope_b",
        "content.risks[].nope_c",
        "content.next_steps[].nope_d",
        "content.nope_e",
        "content.nope_f",
        "content.nope_g",
    }


def test_strict_subset_accepts_what_providers_accept() -> None:
    schema = json.loads((WORKED_EXAMPLE / "schema.json").read_text("utf-8"))
    assert schema_problems(schema) == []
    assert [str(p) for p in schema_problems({"type": ["object", "null"]})] == [
        'schema.json #: the root must be an object schema: "type": "object"'
    ]


def test_registry_leaves_out_a_broken_folder_and_logs_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "templates"
    root.mkdir()
    shutil.copytree(WORKED_EXAMPLE, root / "one_pager")
    broken = broken_copy(root)
    edit_json("schema.json", lambda s: s.pop("additionalProperties"))(broken)
    with caplog.at_level(logging.ERROR, logger="app.site_template"):
        registry = load_registry(root)
    assert registry.names() == ["one_pager"]
    assert list(registry.skipped) == ["broken_template"]
    assert 'schema.json #: needs "additionalProperties": false' in caplog.text
    assert "sitewright templates check" in caplog.text
    shutil.rmtree(root / "one_pager")
    with pytest.raises(TemplateError, match="holds no usable template"):
        load_registry(root)
