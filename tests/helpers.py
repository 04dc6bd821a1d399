"""What the test modules have in common: real records, archives on disk, the ingest, dbt, queries."""

from __future__ import annotations

import copy
import gzip
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson

from ingest.config import Settings
from ingest.pipeline import IngestSummary, run_ingest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLI = str(BIN / "connect-warehouse")
REAL_EVENTS = Path(__file__).resolve().parent / "fixtures" / "real-events"
LOOKBACK = "{lookback_days: 1}"  # short, so that incremental runs really use the window


def t(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A UTC time in November 2026."""
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=UTC)


def real_event(name: str) -> dict:
    """One of the clean AWS documentation samples, parsed."""
    return orjson.loads((REAL_EVENTS / "clean" / f"awsdocs-{name}.json").read_bytes())


def event(event_id: str, at: str, event_type: str = "STATE_CHANGE", **changes: object) -> dict:
    """A real STATE_CHANGE record (AWS's ACW sample) with a new id, time and type."""
    record = copy.deepcopy(real_event("acw-1"))
    record.update(EventId=event_id, EventTimestamp=at, EventType=event_type, **changes)
    return record


def write_object(
    path: Path, records: list[dict | bytes], sep: bytes = b"", gz: bool = True
) -> Path:
    """A Firehose-like object: records back to back (or with sep), gzip by default."""
    data = sep.join(r if isinstance(r, bytes) else orjson.dumps(r) for r in records)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def ingest(source: Path | str, warehouse: Path, **settings: int) -> IngestSummary:
    """Run the real ingest in-process."""
    return run_ingest(Settings(source=str(source), warehouse=warehouse, **settings))


def cli(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """The command line as a user runs it, capturing its output."""
    return subprocess.run(
        [CLI, *map(str, args)], capture_output=True, text=True, check=False, **kwargs
    )


def ingest_cli(source: Path, warehouse: Path) -> None:
    """The real ingest CLI; it must exit 0."""
    result = cli("ingest", "--source", source, "--warehouse", warehouse, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def dbt_build(warehouse: Path, work: Path, *extra: str) -> None:
    """The real `dbt build` of this project on the warehouse file."""
    result = subprocess.run(
        [
            BIN / "dbt",
            "build",
            "--project-dir",
            ROOT,
            "--profiles-dir",
            ROOT,
            "--target-path",
            work / "target",
            "--log-path",
            work / "logs",
            "--vars",
            LOOKBACK,
            *extra,
        ],
        cwd=ROOT,
        env={**os.environ, "WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def query(warehouse: Path, sql: str, params: list | dict | None = None) -> list[tuple]:
    """All rows of a query on the warehouse, opened read-only, timestamps as UTC datetimes."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()


def counts(warehouse: Path) -> dict[str, int]:
    """Row counts of every raw table."""
    tables = [
        "agent_events",
        "agent_event_contacts",
        "routing_profile_configurations",
        "agent_event_concurrency",
        "agent_event_queues",
        "ingested_objects",
        "rejected_records",
    ]
    return {t: query(warehouse, f"select count(*) from raw.{t}")[0][0] for t in tables}


MARTS = (  # every mart, in the comparisons of night-by-night and full-refresh builds
    "fct_agent_status",
    "fct_agent_contacts",
    "dim_agent",
    "dim_routing_profile",
    "dim_queue",
    "agg_agent_status_daily",
    "fct_agent_sessions",
    "fct_agent_activity",
    "agg_agent_activity_15m",
    "dq_event_gaps",
    "dq_hourly_arrivals",
    "dq_duplicates_daily",
)


def deliver(objects: list[Path], archive: Path, into: Path) -> None:
    """Copy objects of an archive into a source folder (what Firehose delivered so far)."""
    for path in objects:
        target = into / path.relative_to(archive)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def assert_same_marts(a: Path, b: Path) -> None:
    """Both warehouses hold exactly the same rows in every mart and in stg_agent_events."""
    with duckdb.connect() as con:
        con.execute(f"attach '{a}' as a (read_only)")
        con.execute(f"attach '{b}' as b (read_only)")
        tables = [f"marts.{m}" for m in MARTS]
        tables.append("staging.stg_agent_events")
        for table in tables:
            schema, name = table.split(".")
            columns = [
                row[0]
                for row in con.execute(
                    "select column_name from information_schema.columns where table_catalog = 'a'"
                    " and table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, name],
                ).fetchall()
                if row[0] not in {"source_object", "byte_offset", "ingested_at", "last_ingested_at"}
            ]
            assert columns, table
            cols = ", ".join(f'"{c}"' for c in columns)
            for left, right in (("a", "b"), ("b", "a")):
                diff = con.execute(
                    f"select {cols} from {left}.{table} except all select {cols} from {right}.{table}"
                ).fetchall()
                assert diff == [], f"{table}: rows in {left} only: {diff[:5]}"


def segments_of_day(warehouse: Path, start: datetime, end: datetime) -> dict[str, int]:
    """Per agent, the fct_agent_activity segments over [start, end): an open one lasts to the
    latest event in the warehouse."""
    rows = query(
        warehouse,
        """
        select agent_arn, count(*)
        from marts.fct_agent_activity
        where started_at < $end
            and coalesce(
                ended_at,
                greatest(started_at, (select max(event_timestamp) from staging.stg_agent_events))
            ) > $start
        group by agent_arn
        """,
        {"start": start, "end": end},
    )
    return dict(rows)
