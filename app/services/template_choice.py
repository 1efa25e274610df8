"""Choosing a site's template when the builder leaves it to Sitewright.

Where it runs: the offline rules choose in the request, at once (no model, a few milliseconds),
so a site has a template from the moment it is saved. With a model configured, the generation
job's first step, "choosing a template", asks the model among the installed templates: after
the request and files are saved, like every model call, so a failure leaves them intact and
Retry works. If the model fails or names a template that is not installed, the rules' choice
stands. Once made, the choice is kept: Retry does not ask again.

What is recorded: ``Site.template_choice`` (by whom, the template's title, the reason, the
model), the ``site.created`` audit event's ``template_choice``, and a ``site.template_chosen``
event when the job asks the model. Pages show "Sitewright chose <title>: <reason>".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from app import audit
from app.errors import BadInput
from app.ingest import IngestedFile
from app.llm import Draft, LLMError
from app.llm.choice import ChoiceRequest, TemplateOption, file_facts, read_choice
from app.llm.offline.choose import choose_by_rules as rules
from app.models import Job, Site, Source, User
from app.services import Deps, usage
from app.site_template import SiteTemplate, TemplateRegistry

log = logging.getLogger(__name__)

CHOOSING = "choosing a template"  # the job step


@dataclass(frozen=True)
class TemplateChoice:
    """How Sitewright chose a template, as stored on the site."""

    by: str  # "rules" or "model"
    template: str
    title: str
    reason: str
    model: str = ""  # the model that chose, for "model"
    ask_model: bool = False  # the job still has to ask the model

    def as_json(self) -> dict[str, Any]:
        """Return the choice as stored in ``Site.template_choice`` and in audit data."""
        return asdict(self)


def requested_template(registry: TemplateRegistry, name: str) -> SiteTemplate | None:
    """Return the template the builder named, or None when they left the choice to Sitewright.

    :raise 400: no installed template has that name.
    """
    if not name.strip():
        return None
    template = registry.get(name.strip())
    if template is None:
        raise BadInput(
            f"Unknown template {name!r}; choose one of {', '.join(registry.names())}, "
            "or leave it empty to let Sitewright choose."
        )
    return template


def choice_request(
    registry: TemplateRegistry, prompt: str, files: Sequence[IngestedFile], data: Sequence[bytes]
) -> ChoiceRequest:
    """Describe the choice: every installed template, the prompt, and what the files hold."""
    return ChoiceRequest(
        options=[TemplateOption(t.name, t.title, t.description) for t in registry],
        prompt=prompt,
        files=[file_facts(file, raw) for file, raw in zip(files, data, strict=True)],
    )


def choose_if_open(
    deps: Deps,
    template: SiteTemplate | None,
    prompt: str,
    files: Sequence[IngestedFile],
    data: Sequence[bytes],
) -> tuple[SiteTemplate, TemplateChoice | None]:
    """Return the builder's template, or (left open) the rules' choice and why.

    Runs in the request; with a model configured, the job asks the model to choose again.
    """
    if template is not None:
        return template, None
    name, reason = rules(choice_request(deps.registry, prompt, files, data))
    chosen = deps.registry.get(name)
    assert chosen is not None  # the rules choose among the registry's templates
    ask_model = deps.provider.name != "offline"
    return chosen, TemplateChoice("rules", name, chosen.title, reason, ask_model=ask_model)


def model_should_choose(job: Job) -> bool:
    """Say whether this job's first step is asking the model for the template."""
    choice = job.site.template_choice or {}
    return job.kind == "generate" and bool(choice.get("ask_model"))


def choose_with_model(
    deps: Deps, job: Job, files: Sequence[IngestedFile], sources: Sequence[Source]
) -> SiteTemplate:
    """Ask the model which template fits, record the choice, and return the template.

    Falls back to the rules' choice (already on the site) when the model cannot be reached or
    answers with a template that is not installed.
    """
    data = [
        deps.blobs.get(s.sha256) if s.filename.lower().endswith(".xlsx") else b"" for s in sources
    ]
    request = choice_request(deps.registry, job.prompt, files, data)
    draft: Draft | None = None
    picked: tuple[str, str] | None = None
    try:
        draft = deps.provider.choose(request)
    except LLMError as exc:
        log.warning("job %s: the model could not choose a template (%s)", job.id, exc)
    if draft is not None:
        usage.record(deps, job, draft, "choose")
        picked = read_choice(draft.content, request.names)
        if picked is None:
            log.warning("job %s: the model's template choice is unusable; rules stand", job.id)
    with deps.db.transaction() as session:
        site = session.get_one(Site, job.site_id, with_for_update={"of": Site})
        before = dict(site.template_choice or {})
        if picked is not None and draft is not None:
            template = deps.registry.get(picked[0])
            assert template is not None  # read_choice accepts installed names only
            choice = TemplateChoice("model", template.name, template.title, picked[1], draft.model)
        else:
            name = str(before.get("template") or site.template)
            choice = TemplateChoice(
                "rules", name, str(before.get("title", "")), str(before.get("reason", ""))
            )
        site.template, site.template_choice = choice.template, choice.as_json()
        audit.track_event(
            session,
            audit.TemplateChosen(
                data={
                    **choice.as_json(),
                    "before": before.get("template"),
                    "model_answer": "used" if picked else "unusable" if draft else "failed",
                }
            ),
            actor=session.get(User, job.created_by_id),
            site=site,
        )
    chosen = deps.registry.get(choice.template)
    assert chosen is not None
    return chosen


def choice_json(site: Site) -> dict[str, Any] | None:
    """Describe how the site's template was chosen, for pages and the API (None: by the builder)."""
    choice = site.template_choice
    if not choice:
        return None
    pending = bool(choice.get("ask_model"))
    return {
        "by": choice.get("by"),
        "template": site.template,
        "title": choice.get("title"),
        "reason": choice.get("reason"),
        "model": choice.get("model") or None,
        "pending": pending,
        "message": "Sitewright is choosing a template…"
        if pending
        else f"Sitewright chose {choice.get('title')}: {choice.get('reason')}",
    }
