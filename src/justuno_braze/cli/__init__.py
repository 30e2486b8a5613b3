"""The ``justuno-braze`` command line (also ``python -m justuno_braze``).

Each command parses its options, calls a service, and maps errors to exit codes:
0 done, 2 invalid input/workflow/settings, 3 skipped (``preview``), 1 anything else.
Commands by concern: ``run`` (sandbox, serve, worker, db, config), ``workflow_files``
(preview, workflows validate/export/import), ``backfill`` (import, replay), ``users``
(users add).
"""

from __future__ import annotations

from justuno_braze.cli import backfill, run, users, workflow_files
from justuno_braze.cli.root import app

__all__ = ["app", "backfill", "main", "run", "users", "workflow_files"]


def main() -> None:
    app(prog_name="justuno-braze")
