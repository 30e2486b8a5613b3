from __future__ import annotations

import pytest

from justuno_braze.config import Settings
from justuno_braze.errors import ConfigError


def test_reads_prefixed_environment() -> None:
    s = Settings.from_env(
        {
            "JUSTUNO_BRAZE_DATABASE_URL": "postgresql://u:secretpw@h/db",
            "JUSTUNO_BRAZE_ALLOWED_BRAZE_URLS": "http://127.0.0.1:9292/, http://localhost:1",
            "JUSTUNO_BRAZE_BATCH_CAP": "50",
        },
        dotenv=None,
    )
    assert s.database_url == "postgresql://u:secretpw@h/db"
    assert s.allowed_braze_urls == ("http://127.0.0.1:9292", "http://localhost:1")
    assert s.batch_cap == 50


def test_reports_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(
            {"JUSTUNO_BRAZE_BATCH_CAP": "many", "JUSTUNO_BRAZE_LEASE_SECONDS": "soon"},
            dotenv=None,
        )
    assert len(info.value.problems) == 2
    assert "BATCH_CAP" in info.value.problems[0]


def test_out_of_range_values_are_refused() -> None:
    with pytest.raises(ConfigError, match="BATCH_CAP"):
        Settings.from_env({"JUSTUNO_BRAZE_BATCH_CAP": "76"}, dotenv=None)


def test_masked_hides_secrets_and_passwords() -> None:
    s = Settings(
        database_url="postgresql://u:secretpw@h/db", secret_key="k" * 44, demo_token="tok-12345678"
    )
    shown = s.masked()
    assert "secretpw" not in str(shown)
    assert shown["secret_key"] == "****kkkk"
    assert "tok-1234" not in str(shown)
    assert "secret_key" not in repr(s) or "kkkk" not in repr(s)
