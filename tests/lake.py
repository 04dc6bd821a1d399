"""A Parquet lake of a DuckDB warehouse's raw tables, in the layout the Spark target reads.

`<lake>/<raw table>/...parquet`: agent_events and agent_event_contacts Hive-partitioned by
`event_date=YYYY-MM-DD/` (the UTC day of the event), the other tables unpartitioned; same
columns and types as ingest/schema.sql. A stand-in for the ingest's own lake sink (issue 15)
until it lands: `python tests/lake.py WAREHOUSE LAKE`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb

PARTITIONED = {
    "agent_events": "select *, timezone('UTC', event_timestamp)::date as event_date"
    " from raw.agent_events",
    # a contact's day is its event's day (the copy's source object and byte offset)
    "agent_event_contacts": "select contacts.*, timezone('UTC', events.event_timestamp)::date"
    " as event_date from raw.agent_event_contacts as contacts"
    " inner join raw.agent_events as events using (event_id, source_object, byte_offset)",
}
UNPARTITIONED = [
    "routing_profile_configurations",
    "agent_event_concurrency",
    "agent_event_queues",
    "ingested_objects",
    "rejected_records",
]


def write_lake(warehouse: Path, lake: Path) -> Path:
    """Write (replace) the lake of the warehouse's raw tables; returns the lake folder."""
    if lake.exists():
        shutil.rmtree(lake)
    lake.mkdir(parents=True)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for table, select in PARTITIONED.items():
            con.execute(
                f"copy ({select}) to '{lake / table}'"
                " (format parquet, compression zstd, partition_by (event_date))"
            )
        for table in UNPARTITIONED:
            (lake / table).mkdir()
            con.execute(
                f"copy raw.{table} to '{lake / table / 'data.parquet'}'"
                " (format parquet, compression zstd)"
            )
    return lake


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python tests/lake.py WAREHOUSE LAKE")
    print(write_lake(Path(sys.argv[1]), Path(sys.argv[2])))
