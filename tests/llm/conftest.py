"""Fixtures for the LLM tests: a loopback OpenAI-compatible server and providers pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.llm import DraftRequest, OpenAIProvider, TemplateSpec
from tests.fakes.llm_server import FakeLLMServer

TINY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"title": {"type": "string", "description": "Page title, plain text."}},
    "required": ["title"],
    "additionalProperties": False,
}


@pytest.fixture
def llm_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(default_content='{"title": "Quarterly usage"}') as server:
        yield server


@pytest.fixture
def make_provider(llm_server: FakeLLMServer) -> Iterator[Callable[..., OpenAIProvider]]:
    providers: list[OpenAIProvider] = []

    def make(**overrides: Any) -> OpenAIProvider:
        options: dict[str, Any] = {
            "base_url": llm_server.base_url,
            "api_key": "",
            "model": "fake-model",
            "timeout_s": 5.0,
            "max_retries": 0,
        }
        options.update(overrides)
        provider = OpenAIProvider(**options)
        providers.append(provider)
        return provider

    yield make
    for provider in providers:
        provider.close()


@pytest.fixture
def draft_request() -> DraftRequest:
    template = TemplateSpec(
        name="kpi dashboard",
        title="KPI dashboard",
        schema=TINY_SCHEMA,
        guidance="Write a short, factual title.",
    )
    return DraftRequest(
        template=template,
        prompt="Dashboard of monthly active users",
        digest="usage.csv: table, 12 rows; columns month (date), active_users (int)",
    )
