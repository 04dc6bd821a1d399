"""Settings of a run, read once from the command line and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WAREHOUSE = Path("warehouse/connect.duckdb")
DEFAULT_SAMPLE = Path("sample-archive")
DUCKDB_CONFIG = {"memory_limit": "512MB"}


@dataclass(frozen=True)
class Settings:
    """Where to read, where to write and how much to hold in memory at once."""

    source: str
    warehouse: Path
    batch_bytes: int = 32 * 2**20
    batch_objects: int = 1_000
    read_threads: int = 4

    @property
    def is_s3(self) -> bool:
        """Whether the source is an S3 URL rather than a local folder."""
        return self.source.startswith("s3://")


def settings_from(source: str | None, warehouse: str | Path | None) -> Settings:
    """Settings from explicit values, falling back to SOURCE / WAREHOUSE and the defaults."""
    src = source or os.environ.get("SOURCE") or str(DEFAULT_SAMPLE)
    wh = Path(warehouse or os.environ.get("WAREHOUSE") or DEFAULT_WAREHOUSE)
    tuning = {
        name: int(os.environ[env])
        for name, env in (
            ("batch_objects", "INGEST_BATCH_OBJECTS"),
            ("read_threads", "INGEST_THREADS"),
        )
        if env in os.environ
    }
    if "INGEST_BATCH_MB" in os.environ:
        tuning["batch_bytes"] = int(os.environ["INGEST_BATCH_MB"]) * 2**20
    return Settings(source=src, warehouse=wh, **tuning)
