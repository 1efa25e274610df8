"""The demo workspace: one published site per built-in template, made from its example files."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from app.auth.identity import principal_for
from app.ingest import ingest
from app.llm import Draft
from app.models import Job, Site, Source
from app.services import Deps
from app.services.generation import Inputs, claim, save_version
from app.services.sites import NewSite, Upload, create_site, publish_version

DEMO_EMAIL = "demo@example.com"
DEMO_PROMPTS = {
    "customer_review": "Quarterly business review for Northwind Logistics: usage, support, "
    "risks and next steps.",
    "scenario_planner": "Compare Base, Optimistic and Pessimistic scenarios for next year.",
    "launch_hub": "Launch hub for Atlas Reports 2.0: milestones, messaging, decisions, risks.",
}


def load_demo(deps: Deps) -> Iterator[str]:
    """Create the demo sites that do not exist yet; say what was done."""
    from app.auth.identity import provision_user

    for template in deps.registry:
        name = f"Demo: {template.title}"
        with deps.db.transaction() as session:
            exists = session.scalars(select(Site).where(Site.name == name)).first()
        if exists is not None:
            yield f"demo site {name!r} already exists at /s/{exists.slug}/"
            continue
        files_dir = template.folder / "example_files"
        uploads = (
            [
                Upload(path.name, path.read_bytes())
                for path in sorted(files_dir.iterdir())
                if path.is_file()
            ]
            if files_dir.is_dir()
            else []
        )
        session = deps.db.session(write=True)
        try:
            owner = provision_user(session, email=DEMO_EMAIL, name="Demo Builder")
            session.flush()
            request = NewSite(
                template=template.name,
                name=name,
                department="Demo",
                prompt=DEMO_PROMPTS.get(template.name, template.description),
                expires_on=None,
            )
            site, job = create_site(session, deps, owner, request, uploads)
        finally:
            session.close()
        # The example content was written for these files; no model is needed to show it.
        _publish_example(deps, job.id, template.name)
        yield f"demo site {name!r} created at /s/{site.slug}/"


def _publish_example(deps: Deps, job_id: str, template_name: str) -> None:
    """Save the template's example content as version 1 and publish it to the workspace."""
    template = deps.registry.get(template_name)
    assert template is not None
    if not claim(deps, job_id):
        raise RuntimeError(f"demo job {job_id} was taken by another runner")
    session = deps.db.session()
    try:
        job = session.get(Job, job_id)
        assert job is not None
        sources = [s for s in (session.get(Source, sid) for sid in job.source_ids) if s]
        files = [ingest(s.filename, deps.blobs.get(s.sha256), deps.ingest_limits) for s in sources]
        draft = Draft(
            content=template.example, raw="", model="template example", tokens_in=0, tokens_out=0
        )
        number = save_version(
            deps, job, Inputs(template, job.prompt, sources, files), template.example, [draft]
        )
    finally:
        session.close()
    with deps.db.transaction() as session:
        site = session.get(Site, job.site_id)
        assert site is not None
        owner = principal_for(site.owner, deps.settings)
        publish_version(session, site, number, site.owner, audience="workspace", who=owner)
