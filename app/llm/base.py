"""The provider interface: what a generation asks of a model and what comes back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from app.ingest import IngestedFile


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
