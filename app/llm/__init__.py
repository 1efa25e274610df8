"""LLM providers: turn a draft request into template content (JSON), and report token usage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.llm.base import (
    PATCH_SCHEMA,
    Draft,
    DraftRequest,
    LLMError,
    Provider,
    RevisionRequest,
    TemplateSpec,
)
from app.llm.openai_provider import OpenAIProvider

__all__ = [
    "PATCH_SCHEMA",
    "Draft",
    "DraftRequest",
    "LLMError",
    "OpenAIProvider",
    "Provider",
    "RevisionRequest",
    "TemplateSpec",
    "build_provider",
]


def build_provider(settings: Mapping[str, Any]) -> Provider:
    """Return the OpenAI-compatible provider if an LLM URL or key is set, else the offline one."""
    base_url = settings.get("LLM_BASE_URL") or None
    api_key = settings.get("LLM_API_KEY") or ""
    if base_url or api_key:
        return OpenAIProvider(
            base_url=base_url,
            api_key=api_key,
            model=settings.get("LLM_MODEL") or "gpt-4o-mini",
            timeout_s=float(settings.get("LLM_TIMEOUT_S", 60.0)),
            max_retries=int(settings.get("LLM_MAX_RETRIES", 2)),
        )
    # Imported here, not at the top: the drafter imports app.site_template, which imports app.llm.
    from app.llm.offline import OfflineDrafter

    return OfflineDrafter()
