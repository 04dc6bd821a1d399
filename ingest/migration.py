"""Bring a warehouse of an earlier raw layout to the current one when the ingest opens it.

Before issue 13, raw.agent_event_queues and raw.agent_event_concurrency held one row per
queue and channel of every snapshot (keyed by event, snapshot and copy). Now they hold one row
per distinct routing-profile configuration (content-addressed) and events reference their
configurations by key. The configurations are derived again from each stored `record` (the
warehouse's own copy of every event), with the same keys as a fresh load; the old rows go.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import duckdb
import polars as pl

from ingest.flattening import KEY, ArrowStream, configurations
from ingest.parsing import SNAPSHOT, json_structure

# Events re-read at once while migrating (each keeps its two routing profiles in memory).
MIGRATION_ROWS = 50_000
Insert = Callable[
    [duckdb.DuckDBPyConnection, pl.DataFrame, dict[str, pl.DataFrame], datetime], None
]


PROFILE_TYPE = dict(dict(SNAPSHOT)["Configuration"])["RoutingProfile"]
PROFILE_STRUCTURE = json.dumps(json_structure(PROFILE_TYPE))


def is_old_layout(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse's routing-profile queues are still stored per event."""
    found = con.execute(
        "select count(*) from duckdb_columns() where database_name = current_database()"
        " and schema_name = 'raw' and table_name = 'agent_event_queues'"
        " and column_name = 'event_id'"
    ).fetchall()
    return bool(found[0][0])


def migrate_old_layout(con: duckdb.DuckDBPyConnection, schema_sql: str, insert: Insert) -> bool:
    """Migrate an old-layout warehouse in one transaction (all or nothing); whether it was one.

    staging.stg_agent_events (incremental) is dropped too, so that the next dbt build makes it
    again with the configuration keys of every event.
    """
    if not is_old_layout(con):
        return False
    con.begin()
    try:
        con.execute("drop table raw.agent_event_queues")
        con.execute("drop table raw.agent_event_concurrency")
        con.execute(schema_sql)
        _derive_configurations(con, insert)
        con.execute("drop table if exists staging.stg_agent_events")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return True


def _derive_configurations(con: duckdb.DuckDBPyConnection, insert: Insert) -> None:
    """Every stored event's configuration keys, and the configurations, from its record."""
    last = con.execute("select max(rowid) from raw.agent_events").fetchall()[0][0]
    if last is None:
        return
    paths = {
        snap: f"$.{name}.Configuration.RoutingProfile"
        for snap, name in (
            ("current", "CurrentAgentSnapshot"),
            ("previous", "PreviousAgentSnapshot"),
        )
    }
    sql = (
        "select rowid as row_id, source_object, byte_offset, ingested_at,"
        f" json_transform(json_extract(record, '{paths['current']}'), $s) as current,"
        f" json_transform(json_extract(record, '{paths['previous']}'), $s) as previous"
        " from raw.agent_events where rowid >= $a and rowid < $b order by rowid"
    )
    for start in range(0, last + 1, MIGRATION_ROWS):
        params = {"s": PROFILE_STRUCTURE, "a": start, "b": start + MIGRATION_ROWS}
        chunk = pl.DataFrame(con.sql(sql, params=params))
        found = configurations(chunk)
        seen_at = chunk.select(
            first_source_object="source_object",
            first_byte_offset="byte_offset",
            first_ingested_at="ingested_at",
        )
        found_at = found.configurations.join(
            seen_at, on=["first_source_object", "first_byte_offset"], how="left"
        )
        children = {"concurrency": found.concurrency, "queues": found.queues}
        insert(con, found_at, children, datetime.now().astimezone())
        keys = chunk.select(
            "row_id",
            found.current_keys.alias(f"current_{KEY}"),
            found.previous_keys.alias(f"previous_{KEY}"),
        )
        _update_keys(con, keys)


def _update_keys(con: duckdb.DuckDBPyConnection, keys: pl.DataFrame) -> None:
    """Set the configuration keys of stored events by row id."""
    if keys.is_empty():
        return
    con.register("incoming_keys", ArrowStream(keys))
    try:
        con.execute(
            f"update raw.agent_events set current_{KEY} = k.current_{KEY},"
            f" previous_{KEY} = k.previous_{KEY}"
            " from incoming_keys as k where raw.agent_events.rowid = k.row_id"
        )
    finally:
        con.unregister("incoming_keys")
