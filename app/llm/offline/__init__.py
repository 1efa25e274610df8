"""The offline drafter: fills a template from the uploaded files by rules, with no model.

It is driven by the template's schema (field names, descriptions, types) and by the files, never
by template names, so a new template folder works too:

* Markdown headings, bold labels and ``Key: value`` lines become labelled blocks of text, list
  items and table rows (``text``); each array field takes the block whose label best matches its
  name and description ("next_steps" ↔ "## Proposed next steps", ``words``), each text field a
  matching value (``fill``).
* Item properties are filled from table columns or from the item text (``lists``): dates
  (YYYY-MM-DD) go to date fields, a ``Name: text`` prefix to an owner field, an em dash splits a
  title from a note.
* Uploaded tables become chart and table references (time-like x with numeric y, counts per
  category) and, when their columns match an array's item properties, the array's items
  (``tables``).
* A field shaped like a scenario model reference names the assumptions table, the projection
  sheet or the driver model, and the outputs, from the tables' names and shapes (``scenarios``);
  the server then computes every number from it.

Text from files is copied as plain text (escaping happens at render). The answer always
validates against the schema: nullable fields are null when nothing fits, and filler items say
honestly that nothing was found, only where ``minItems`` demands one; prose only a model or the
owner can write gets a "To fill in:" prompt saying what the field asks for (``values``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from app.llm.base import Draft, DraftRequest, LLMError, RevisionRequest, TemplateSpec
from app.llm.choice import ChoiceRequest
from app.llm.offline.choose import choose_by_rules
from app.llm.offline.fill import fill_schema

if TYPE_CHECKING:
    from app.ingest import IngestedFile

__all__ = ["NEEDS_MODEL", "OfflineDrafter"]

NEEDS_MODEL = (
    "Revising by instruction needs an AI model, and none is configured: edit the text by hand, "
    "add the files the change comes from, or regenerate from scratch."
)

log = logging.getLogger(__name__)


class OfflineDrafter:
    """Drafts site content from the files by rules; used when no LLM is configured."""

    name = "offline"
    model = "offline-drafter"

    def draft(self, request: DraftRequest) -> Draft:
        """Fill the template from the request's files; never raises on odd input."""
        content = self.draft_content(request.template, request.prompt, request.files)
        return Draft(
            content=content,
            raw=json.dumps(content),
            model=self.model,
            tokens_in=0,
            tokens_out=0,
            offline=True,
        )

    def revise(self, request: RevisionRequest) -> Draft:
        """Refuse: wording changes need a model (revisions with new files re-draft instead)."""
        raise LLMError(NEEDS_MODEL, retryable=False)

    def choose(self, request: ChoiceRequest) -> Draft:
        """Choose a template by rules (see :mod:`app.llm.offline.choose`); never raises."""
        name, reason = choose_by_rules(request)
        content = {"template": name, "reason": reason}
        return Draft(content, json.dumps(content), self.model, 0, 0, offline=True)

    def draft_content(
        self, template: TemplateSpec, prompt: str, files: Sequence[IngestedFile]
    ) -> dict[str, Any]:
        """Return content for ``template`` that validates against its schema."""
        schema = template.schema
        try:
            content = fill_schema(schema, prompt or "", files)
            if not list(Draft202012Validator(schema).iter_errors(content)):
                return content
            log.warning(
                "offline draft for %s broke its schema; using the empty draft", template.name
            )
        except Exception as exc:  # odd files must never stop a draft: use the empty one
            log.warning(
                "offline draft for %s failed (%s); using the empty draft",
                template.name,
                type(exc).__name__,
            )
        return fill_schema(schema, "", ())
