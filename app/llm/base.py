"""The provider interface: what a generation or revision asks of a model and what comes back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from app.ingest import IngestedFile
    from app.llm.choice import ChoiceRequest


@dataclass(frozen=True)
class TemplateSpec:
    """What a provider needs to know about a site template."""

    name: str
    title: str
    schema: dict[str, Any]
    guidance: str  # the template's prompt.md text


@dataclass
class DraftRequest:
    """One request for site content; ``previous_output`` and ``errors`` make it a repair."""

    template: TemplateSpec
    prompt: str  # the builder's instruction
    digest: str  # text digest of the uploaded files: untrusted data
    previous_output: str | None = None  # raw output that failed validation
    errors: list[str] | None = None  # validation errors of previous_output
    # The files themselves, for providers that read data rather than text (the offline drafter).
    files: Sequence[IngestedFile] = ()


@dataclass
class RevisionRequest:
    """One request for a patch to existing content; ``previous_output`` and ``errors`` repair it.

    Only ``parts`` (JSON Pointer and current value) are shown and may be changed; ``others``
    names the rest of the page so the model knows it exists.
    """

    template: TemplateSpec
    instruction: str  # the editor's instruction ("" when only comments are applied)
    parts: list[tuple[str, Any]]
    others: list[str]
    digest: str  # short digest of the files: untrusted data
    comments: list[tuple[str, str, str]] = field(default_factory=list)  # (path, quote, body)
    previous_output: str | None = None
    errors: list[str] | None = None


# The answer to a revision: RFC 6902 operations limited to add/remove/replace. Strict structured
# output cannot express "any JSON value", so each value travels as JSON text (``value_json``).
PATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Changes to the page content as JSON Patch operations.",
    "additionalProperties": False,
    "required": ["operations"],
    "properties": {
        "operations": {
            "type": "array",
            "description": "The operations, applied in order; empty if nothing should change.",
            "maxItems": 40,
            "items": {
                "type": "object",
                "description": "One operation.",
                "additionalProperties": False,
                "required": ["op", "path", "value_json"],
                "properties": {
                    "op": {
                        "type": "string",
                        "enum": ["add", "remove", "replace"],
                        "description": "add or remove a list item, or replace a value.",
                    },
                    "path": {
                        "type": "string",
                        "description": "JSON Pointer, e.g. /risks/0/mitigation; /risks/- appends.",
                    },
                    "value_json": {
                        "type": ["string", "null"],
                        "description": "The new value written as JSON text; null for remove.",
                    },
                },
            },
        }
    },
}


@dataclass
class Draft:
    """The model's answer: parsed content (or why not), the raw text and the token usage."""

    content: dict[str, Any] | None  # None when the answer was not a JSON object
    raw: str  # raw model text: never log it
    model: str  # model that answered ("offline-drafter" for the offline one)
    tokens_in: int
    tokens_out: int
    offline: bool = False
    parse_error: str | None = None  # why content is None


class LLMError(Exception):
    """The model could not be reached or refused.

    ``str(exc)`` is a user-facing message saying what happened and what to do; it never contains
    prompt text or file content. ``retryable`` says whether pressing Retry may help.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Provider(Protocol):
    """A source of drafts: the OpenAI-compatible provider or the offline drafter."""

    name: str  # "openai" / "offline"
    model: str

    def draft(self, request: DraftRequest) -> Draft:
        """Ask for content for ``request``; raise :class:`LLMError` when no answer came."""
        ...

    def revise(self, request: RevisionRequest) -> Draft:
        """Ask for a patch (``{"operations": [...]}`` as content); raise :class:`LLMError`."""
        ...

    def choose(self, request: ChoiceRequest) -> Draft:
        """Ask which template fits (``{"template", "reason"}`` as content); raise LLMError."""
        ...
