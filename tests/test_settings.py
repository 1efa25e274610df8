"""Settings: parsed from SITEWRIGHT_* variables, each documented in the README."""

from __future__ import annotations

import pytest

from app import create_app
from app.settings import SETTINGS, SettingsError, load_settings
from tests.conftest import REPO


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    missing = [s.name for s in SETTINGS if f"`SITEWRIGHT_{s.name}`" not in readme]
    assert not missing, f"document these settings in README.md: {missing}"


def test_every_setting_has_help() -> None:
    assert all(s.help.strip() for s in SETTINGS)


def test_values_are_parsed_and_defaulted() -> None:
    values = load_settings(
        {
            "SITEWRIGHT_DEV_LOGIN": "yes",
            "SITEWRIGHT_ADMINS": "A@x.com, b@y.com",
            "SITEWRIGHT_LLM_TIMEOUT_S": "12.5",
            "OPENAI_API_KEY": "k",
        }
    )
    assert values["DEV_LOGIN"] is True
    assert values["ADMINS"] == ["a@x.com", "b@y.com"]
    assert values["LLM_TIMEOUT_S"] == 12.5
    assert values["LLM_API_KEY"] == "k"  # falls back to OPENAI_API_KEY
    assert values["JOB_WORKERS"] == 2


def test_malformed_value_names_the_setting() -> None:
    with pytest.raises(SettingsError, match="SITEWRIGHT_DEV_LOGIN"):
        load_settings({"SITEWRIGHT_DEV_LOGIN": "maybe"})


def test_secret_key_is_required_outside_development(tmp_path: object) -> None:
    with pytest.raises(SettingsError, match="SITEWRIGHT_SECRET_KEY"):
        create_app({"DEV_LOGIN": False, "SECRET_KEY": None, "DATA_DIR": str(tmp_path)})
