"""Settings of a run, read once from the command line and the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WAREHOUSE = Path("warehouse/connect.duckdb")
DEFAULT_SAMPLE = Path("sample-archive")
# Each of the ingest's two DuckDB connections (the warehouse's, which loads parsed batches, and
# the parser's in-memory one) is capped in memory and returns freed memory early. The raw tables
# are written in row groups of RAW_ROW_GROUP_ROWS rows (DuckDB's default is 122,880): a commit of
# that many records goes straight to compressed storage instead of through the write-ahead log.
INGEST_DUCKDB_CONFIG = {"memory_limit": "128MB", "allocator_flush_threshold": "32MB"}
# The parser's DuckDB leaves a core to the readers and the loader: on two cores a second parser
# thread only competes with them, and holds more memory.
PARSER_DUCKDB_CONFIG = INGEST_DUCKDB_CONFIG | {"threads": max(1, (os.cpu_count() or 2) - 1)}
RAW_ROW_GROUP_ROWS = 4_096
# S3 retries. botocore retries each request on throttling (503 SlowDown), 5xx and broken
# connections, with jittered exponential backoff (standard mode: up to 1 s, then 2 s) and a retry
# quota that stops hammering an endpoint that keeps failing. s3fs wraps each call in its own
# attempts (0.1 s, 0.17 s backoff), which also retry a body cut mid-read; its default (5) times
# botocore's would keep a dead object busy for minutes. A GET that keeps getting 503 is thus tried
# 3 x 2 times over ~3 s (7 s at worst), one whose connection keeps being cut over ~7 s; it is then
# recorded as rejected and retried by the next run.
S3_RETRY_MODE = "standard"
S3_MAX_ATTEMPTS = 3  # botocore attempts per request, the first included
S3FS_RETRIES = 2  # s3fs attempts per call (S3FileSystem.retries)
# Bad input. An object rejected whole keeps its bytes in raw.rejected_records.payload up to this
# size; splitting one object into records may take at most SPLIT_SECONDS (it is linear in the
# object's size; this is a watchdog that keeps a night going whatever the bytes).
REJECTED_PAYLOAD_MAX = 16 * 2**20
SPLIT_SECONDS = 300.0


@dataclass(frozen=True)
class Settings:
    """Where to read, where to write and how much to hold in memory at once."""

    source: str
    warehouse: Path
    batch_bytes: int = 8 * 2**20
    batch_objects: int = 1_000
    commit_records: int = RAW_ROW_GROUP_ROWS
    read_threads: int = 4
    max_object_bytes: int = 256 * 2**20  # decompressed; a larger object is rejected
    lake: str | None = None  # a folder or s3:// prefix: the raw tables go there as Parquet

    @property
    def is_s3(self) -> bool:
        """Whether the source is an S3 URL rather than a local folder."""
        return self.source.startswith("s3://")


# The INGEST_* environment settings: variable, Settings field, what it sets, and the factor from
# the variable's unit to the field's.
TUNING = (
    ("INGEST_BATCH_MB", "batch_bytes", "MiB of JSON parsed at once", 2**20),
    ("INGEST_BATCH_OBJECTS", "batch_objects", "objects parsed at once", 1),
    ("INGEST_COMMIT_RECORDS", "commit_records", "records parsed before a commit", 1),
    ("INGEST_THREADS", "read_threads", "objects fetched and decompressed at once", 1),
    ("INGEST_MAX_OBJECT_MB", "max_object_bytes", "MiB one object may expand to", 2**20),
)


class InvalidSetting(ValueError):
    """An environment setting with a value the ingest cannot use."""


def settings_from(
    source: str | None, warehouse: str | Path | None, lake: str | None = None
) -> Settings:
    """Settings from explicit values, then SOURCE / WAREHOUSE / RAW_LAKE / INGEST_*, then the
    defaults.

    An empty variable counts as unset; an INGEST_* value that is not a whole number of at least 1
    raises InvalidSetting, whose message names the variable, the value and what is accepted.
    """
    src = source or os.environ.get("SOURCE") or str(DEFAULT_SAMPLE)
    wh = Path(warehouse or os.environ.get("WAREHOUSE") or DEFAULT_WAREHOUSE)
    tuning = {
        name: _whole_number(env, meaning) * unit
        for env, name, meaning, unit in TUNING
        if os.environ.get(env, "").strip()
    }
    raw_lake = lake or os.environ.get("RAW_LAKE") or None
    return Settings(source=src, warehouse=wh, lake=raw_lake, **tuning)


def _whole_number(env: str, meaning: str) -> int:
    """The environment variable's value as a whole number of at least 1, or InvalidSetting."""
    raw = os.environ[env]
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidSetting(f"{env}={raw!r} is not a whole number of at least 1 ({meaning})")
    return value


def s3_filesystem_options(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The arguments of every s3fs.S3FileSystem we make (the ingest's, and the DuckDB
    connections' that read an S3 lake): the endpoint from the environment, the retries above.

    Credentials and region come from botocore's usual chain (environment, profile, role).
    """
    endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL") or None
    retries = {"mode": S3_RETRY_MODE, "total_max_attempts": S3_MAX_ATTEMPTS}
    return {
        "endpoint_url": endpoint,
        "skip_instance_cache": True,  # no filesystem shared through fsspec's global cache
        "config_kwargs": {"retries": retries},
    }
