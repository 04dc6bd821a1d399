"""Run dbt on the warehouse: the models and tests of this repository's dbt project."""

from __future__ import annotations

import ctypes
import hashlib
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ingest.config import PROJECT_ROOT, s3_filesystem_options
from ingest.lake import is_s3, lake_of

RUN_RESULTS = PROJECT_ROOT / "target" / "run_results.json"
# verify's own target folder, so that it can run beside a nightly build
VERIFY_TARGET = PROJECT_ROOT / "target" / "verify"
PR_SET_PDEATHSIG = 1
# What the marts are made of besides the raw tables: the project's files, and the environment
# variables its dbt_project.yml and profiles.yml read.
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros")
PROJECT_ENV = ("REPORTING_TIMEZONE",)
# profiles.yml's `filesystems` (dbt-duckdb: fsspec filesystems registered on dbt's connection),
# as JSON: the S3 lake's filesystem when the warehouse's raw views read one, else none.
FILESYSTEMS_ENV = "WAREHOUSE_FILESYSTEMS"


@dataclass(frozen=True)
class DbtResult:
    """How a dbt command ended: its exit status, and which models and tests did not pass."""

    status: int
    models_not_built: list[str]
    tests_failed: list[str]

    @property
    def publishable(self) -> bool:
        """Whether every model was built, so the marts are complete and consistent."""
        return not self.models_not_built and self.status in (0, 1)


def dbt(command: list[str], warehouse: Path, read_only: bool = False) -> int:
    """Run one dbt command against the warehouse file; its exit status. read_only opens the
    file read-only (profiles.yml: WAREHOUSE_ACCESS_MODE), as a reader: never blocked, never
    blocking the nightly job, and unable to change the warehouse."""
    executable = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "WAREHOUSE": str(warehouse.resolve())}
    env[FILESYSTEMS_ENV] = json.dumps(dbt_filesystems(lake_of(warehouse)))
    if read_only:
        env["WAREHOUSE_ACCESS_MODE"] = "read_only"
    project = ["--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT)]
    args = [str(executable), *command, *project]
    return subprocess.run(args, env=env, check=False, preexec_fn=_die_with_parent).returncode


def dbt_filesystems(lake: str | None) -> list[dict[str, object]]:
    """dbt-duckdb's `filesystems` entries that let dbt read the lake: s3fs, made with the same
    arguments as the ingest's, for an S3 lake; none for a folder or no lake."""
    return [{"fs": "s3", **s3_filesystem_options()}] if lake and is_s3(lake) else []


def _die_with_parent() -> None:
    """In the child: be killed when the parent dies, so no dbt outlives a killed run."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def project_fingerprint() -> str:
    """A hash of the dbt project as it would build now: its files, its settings, dbt's version."""
    digest = hashlib.sha256()
    for name in PROJECT_FILES:
        root = PROJECT_ROOT / name
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file():
                digest.update(f"{path.relative_to(PROJECT_ROOT)}\0".encode())
                digest.update(path.read_bytes())
    for env in PROJECT_ENV:
        digest.update(f"{env}={os.environ.get(env)}\0".encode())
    digest.update(importlib.metadata.version("dbt-core").encode())
    digest.update(importlib.metadata.version("dbt-duckdb").encode())
    return digest.hexdigest()


def dbt_build(warehouse: Path, full_refresh: bool = False) -> DbtResult:
    """Build every model and run every test (the data tests on the look-back window)."""
    RUN_RESULTS.unlink(missing_ok=True)
    status = dbt(["build", *(["--full-refresh"] if full_refresh else [])], warehouse)
    return _result(status)


def dbt_verify(warehouse: Path) -> DbtResult:
    """Run every data test over all history (var test_all_history), reading the warehouse
    read-only: the weekly check beside the nightly build's window."""
    run_results = VERIFY_TARGET / "run_results.json"
    run_results.unlink(missing_ok=True)
    command = ["test", "--select", "test_type:data", "--vars", "{test_all_history: true}"]
    command += ["--target-path", str(VERIFY_TARGET)]
    return _result(dbt(command, warehouse, read_only=True), run_results)


def _result(status: int, run_results: Path = RUN_RESULTS) -> DbtResult:
    """What run_results.json says did not pass."""
    if not run_results.exists():
        return DbtResult(status, ["(dbt did not run)"], [])
    results = json.loads(run_results.read_text())["results"]
    not_built = [
        r["unique_id"]
        for r in results
        if r["unique_id"].startswith("model.") and r["status"] != "success"
    ]
    failed = [
        r["unique_id"]
        for r in results
        if r["unique_id"].startswith("test.") and r["status"] in ("fail", "error")
    ]
    return DbtResult(status, not_built, failed)
