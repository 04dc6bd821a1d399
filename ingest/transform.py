"""Run dbt on the warehouse: the models and tests of this repository's dbt project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ingest.config import PROJECT_ROOT


def dbt(command: list[str], warehouse: Path) -> int:
    """Run one dbt command against the warehouse file; its exit status."""
    executable = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "WAREHOUSE": str(warehouse.resolve())}
    args = [
        str(executable),
        *command,
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
    ]
    return subprocess.run(args, env=env, cwd=PROJECT_ROOT, check=False).returncode


def dbt_build(warehouse: Path, full_refresh: bool = False) -> int:
    """Build every model and run every test; its exit status."""
    return dbt(["build", *(["--full-refresh"] if full_refresh else [])], warehouse)
