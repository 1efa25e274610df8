"""The offline drafter's template choice: rules over the prompt and the files, with a reason.

A workbook with formulas points to the scenario planner (it evaluates them, so the site's numbers
equal the spreadsheet's). Otherwise each template scores the words of the prompt (twice) and of
the files (file names, columns, headings) that fit it: the built-ins' own cue words below, and
for every template the words of its title and description, so a new folder can be chosen too.
Ties go to the registry's order; with no cue at all, the first template, saying so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from app.llm.choice import ChoiceRequest, FileFacts, TemplateOption

WORKBOOK_TEMPLATE = "scenario_planner"
FORMULA_SCORE = 6.0
PROMPT_WEIGHT = 2.0
DESCRIPTION_WEIGHT = 0.5

CUES: dict[str, tuple[str, ...]] = {
    "scenario_planner": (
        "scenario",
        "forecast",
        "projection",
        "what if",
        "assumption",
        "sensitivity",
        "driver",
        "optimistic",
        "pessimistic",
        "budget",
        "horizon",
    ),
    "customer_review": (
        "ticket",
        "usage",
        "account",
        "renewal",
        "customer",
        "qbr",
        "business review",
        "nps",
        "seat",
        "support",
        "contract",
        "health",
        "csm",
    ),
    "launch_hub": (
        "milestone",
        "launch",
        "plan",
        "ga",
        "beta",
        "messaging",
        "decision",
        "raci",
        "release",
        "rollout",
        "positioning",
        "faq",
    ),
}
STOPWORDS = frozenset(
    "about after also and are for from into its made more one page side that the their them "
    "then this what when where which with your".split()
)


def words(text: str) -> list[str]:
    """Lower-case words with a plural 's' dropped: "Milestones" and "milestone" match."""
    return [
        word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
        for word in re.findall(r"[a-z0-9]+", text.lower())
    ]


def _phrase_in(phrase: str, text: str) -> bool:
    return f" {' '.join(words(phrase))} " in text


def _text(parts: Iterable[str]) -> str:
    return " " + " ".join(word for part in parts for word in words(part)) + " "


def _file_text(files: Sequence[FileFacts]) -> str:
    parts: list[str] = []
    for facts in files:
        parts.append(facts.filename.rsplit(".", 1)[0])
        for name, columns in facts.tables:
            parts.extend([name.partition("#")[2], *columns])
        parts.extend(facts.headings)
    return _text(parts)


def choose_by_rules(request: ChoiceRequest) -> tuple[str, str]:
    """Return (template name, reason sentence) for the request; never fails."""
    options = {option.name: option for option in request.options}
    workbook = next((f for f in request.files if f.formula_cells), None)
    if workbook is not None and WORKBOOK_TEMPLATE in options:
        return WORKBOOK_TEMPLATE, (
            f"{workbook.filename} is a workbook with formulas, and the "
            f"{options[WORKBOOK_TEMPLATE].title} evaluates them, so the site's numbers equal "
            "the spreadsheet's."
        )
    prompt, files = _text([request.prompt]), _file_text(request.files)
    best: tuple[float, TemplateOption, list[str], str] | None = None
    for option in request.options:
        cues = CUES.get(option.name, ())
        described = [w for w in words(f"{option.title} {option.description}") if _meaningful(w)]
        in_prompt = [cue for cue in cues if _phrase_in(cue, prompt)]
        in_files = [cue for cue in cues if _phrase_in(cue, files) and cue not in in_prompt]
        extra = {w for w in described if f" {w} " in prompt or f" {w} " in files}
        score = PROMPT_WEIGHT * len(in_prompt) + len(in_files) + DESCRIPTION_WEIGHT * len(extra)
        if best is None or score > best[0]:
            matched = in_prompt + in_files or sorted(extra - set(cues))
            where = " and ".join(
                name
                for name, hit in (("prompt", in_prompt), ("files", in_files or not in_prompt))
                if hit
            )
            best = (score, option, matched, where)
    if best is None or best[0] == 0:
        first = request.options[0]
        return first.name, (
            f"Nothing in the prompt or the files pointed to a template, so Sitewright took the "
            f"first one, {first.title}; choose another on the form if it does not fit."
        )
    _, option, matched, where = best
    verb = "mentions" if where == "prompt" else "mention"
    return option.name, (
        f"The {where.replace(' and ', ' and the ')} {verb} {_listed(matched[:3])}, "
        f"which is what the {option.title} is made for."
    )


def _meaningful(word: str) -> bool:
    return len(word) >= 4 and word not in STOPWORDS and not word.isdigit()


def _listed(items: list[str]) -> str:
    quoted = [f"“{item}”" for item in items]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]
