"""Schemathesis over the whole OpenAPI of a live ``serve --demo`` process: every
operation, with valid credentials (the demo's API token; the ingest token for
ingestion) and the demo account in the path, never answers 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from justuno_braze.config import Settings
from justuno_braze.services.demo import demo_api_token
from tests.e2e.serve_process import running_serve

pytestmark = pytest.mark.slow

DEMO_TOKEN = "schemathesis-demo-token"
CONFIG = """
[parameters]
account = "demo"

[[operations]]
include-path-regex = "/events$"
headers = {{ Authorization = "Bearer {ingest}" }}

[[operations]]
exclude-path-regex = "/events$"
headers = {{ Authorization = "Bearer {api}" }}
"""


def test_no_operation_answers_a_server_error(tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st is not None, "schemathesis is not installed (the 'dev' extra)"
    api = demo_api_token(Settings(demo_token=DEMO_TOKEN))
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(ingest=DEMO_TOKEN, api=api))
    env = {"JUSTUNO_BRAZE_DEMO_TOKEN": DEMO_TOKEN}
    with running_serve(tmp_path / "serve", "--demo", "--no-workers", env=env) as served:
        result = subprocess.run(
            [
                st,
                "--config-file",
                str(config),
                "run",
                f"{served.url}/api/v1/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "15",
                "--max-time",
                "60",
                "--seed",
                "4",
                "--warnings=off",
            ],
            capture_output=True,
            text=True,
            timeout=150,
            cwd=tmp_path,
        )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report + "\n--- serve log ---\n" + served.output()[-5000:]
