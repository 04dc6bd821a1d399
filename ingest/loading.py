"""Load raw frames into DuckDB, several parsed batches per commit, with their manifest rows.

DuckDB writes an insert of at least a row group straight to compressed row groups, but logs
smaller ones to its write-ahead log and compresses them again at the checkpoint. The warehouse
is opened with small row groups, so commits of a few thousand records stay on the fast path
and the frames waiting for their commit stay small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from ingest.config import INGEST_DUCKDB_CONFIG, RAW_ROW_GROUP_ROWS
from ingest.flattening import KEY, ArrowStream, RawFrames
from ingest.migration import migrate_old_layout
from ingest.parsing import Rejection

SCHEMA_SQL = Path(__file__).with_name("schema.sql")
TABLES = {"events": "raw.agent_events", "contacts": "raw.agent_event_contacts"}
# The children of a routing-profile configuration, written once per configuration key.
CONFIGURATION_CHILDREN = {
    "concurrency": "raw.agent_event_concurrency",
    "queues": "raw.agent_event_queues",
}


@dataclass(frozen=True)
class LoadedObject:
    """A manifest row: an object loaded (or rejected whole), with what identifies its content."""

    source_object: str
    size_bytes: int
    etag: str
    md5: str
    records: int
    rejected: int


def connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file, with the raw schema in place."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    spill = {"temp_directory": str(warehouse.with_name(warehouse.name + ".tmp"))}
    con = duckdb.connect(config=INGEST_DUCKDB_CONFIG | spill)  # the file is attached below
    path = str(warehouse).replace("'", "''")
    con.execute(f"attach '{path}' as warehouse (row_group_size {RAW_ROW_GROUP_ROWS})")
    con.execute("use warehouse")
    _refuse_lake_views(con, warehouse)
    migrate_old_layout(con, SCHEMA_SQL.read_text(), insert_new_configurations)
    con.execute(SCHEMA_SQL.read_text())
    return con


class LakeError(Exception):
    """A lake the warehouse cannot be put on (or read) as asked, or a warehouse on a lake
    asked to hold its raw tables itself."""


class WarehouseSink:
    """The ingest's writer into the raw tables of the warehouse file."""

    def __init__(self, warehouse: Path) -> None:
        self.con = connect(warehouse)

    def loaded_objects(self) -> dict[str, LoadedObject]:
        """The manifest: every object loaded so far, by key."""
        return loaded_objects(self.con)

    def load(
        self,
        frames: list[RawFrames],
        rejections: list[Rejection],
        manifest: list[LoadedObject],
        ingested_at: datetime,
    ) -> None:
        """Insert parsed rows, rejections and manifest rows all at once or not at all."""
        load(self.con, frames, rejections, manifest, ingested_at)

    def close(self) -> None:
        """Close the warehouse."""
        self.con.close()


def _refuse_lake_views(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    """Stop if the warehouse's raw tables are views over a lake (ingest/lake.py)."""
    found = con.execute(
        "select comment from duckdb_views() where database_name = current_database()"
        " and schema_name = 'raw' and view_name = 'ingested_objects'"
    ).fetchall()
    if found:
        raise LakeError(
            f"{warehouse} reads its raw tables from a lake ({found[0][0]}): ingest into that "
            "lake (--lake or RAW_LAKE), not into the warehouse file"
        )


def loaded_objects(con: duckdb.DuckDBPyConnection) -> dict[str, LoadedObject]:
    """The manifest: every object loaded so far, by key."""
    rows = con.execute(
        "select source_object, size_bytes, etag, md5, records, rejected from raw.ingested_objects"
    ).fetchall()
    return {row[0]: LoadedObject(*row) for row in rows}


def load(
    con: duckdb.DuckDBPyConnection,
    frames: list[RawFrames],
    rejections: list[Rejection],
    manifest: list[LoadedObject],
    ingested_at: datetime,
) -> None:
    """Insert parsed rows, rejections and manifest rows all at once or not at all."""
    con.begin()
    try:
        for name, table in TABLES.items():
            rows = pl.concat([getattr(f, name) for f in frames], rechunk=False)
            stamp = ", $at::timestamptz as ingested_at" if name == "events" else ""
            sql = f"insert into {table} by name select *{stamp} from incoming"
            execute_on(con, rows, sql, {"at": ingested_at} if stamp else None)
        insert_new_configurations(con, *configurations_of(frames), ingested_at)
        _insert_new_rejections(con, rejection_frame(rejections, ingested_at))
        _upsert_manifest(con, manifest, ingested_at)
        con.commit()
    except BaseException:
        con.rollback()
        raise


def configurations_of(frames: list[RawFrames]) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """The configurations of several batches, each key once, with the rows of its first batch."""
    seen: set[str] = set()
    configurations, children = [], {name: [] for name in CONFIGURATION_CHILDREN}
    for frame in frames:
        fresh = frame.configurations.filter(~pl.col(KEY).is_in(list(seen)))
        keys = fresh.get_column(KEY)
        configurations.append(fresh)
        for name, rows in children.items():
            rows.append(getattr(frame, name).filter(pl.col(KEY).is_in(keys.implode())))
        seen.update(keys.to_list())
    return pl.concat(configurations), {name: pl.concat(rows) for name, rows in children.items()}


def insert_new_configurations(
    con: duckdb.DuckDBPyConnection,
    configurations: pl.DataFrame,
    children: dict[str, pl.DataFrame],
    at: datetime,
) -> None:
    """Store the configurations whose key is not stored yet, with their channels and queues.

    Runs inside the caller's transaction, so a configuration and its rows go in together, once:
    a key seen again (in this load, a re-run or a Firehose duplicate) writes nothing.
    """
    configurations = configurations.unique(KEY, keep="first", maintain_order=True)
    if configurations.is_empty():
        return
    con.register("incoming", ArrowStream(configurations.select(KEY)))
    try:
        stored = con.execute(
            f"select {KEY} from incoming where {KEY} in"
            f" (select {KEY} from raw.routing_profile_configurations)"
        ).fetchall()
    finally:
        con.unregister("incoming")
    new = configurations.filter(~pl.col(KEY).is_in([row[0] for row in stored]))
    if "first_ingested_at" not in new.columns:
        new = new.with_columns(first_ingested_at=pl.lit(at, dtype=pl.Datetime("us", "UTC")))
    execute_on(
        con, new, "insert into raw.routing_profile_configurations by name select * from incoming"
    )
    keys = new.get_column(KEY)
    for name, table in CONFIGURATION_CHILDREN.items():
        rows = children[name].filter(pl.col(KEY).is_in(keys.implode()))
        execute_on(con, rows, f"insert into {table} by name select * from incoming")


def _insert_new_rejections(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> None:
    """Append rejections, except those already recorded with the same place and reason."""
    execute_on(
        con,
        frame,
        "insert into raw.rejected_records by name select * from incoming i where not exists ("
        " select 1 from raw.rejected_records r where r.source_object = i.source_object"
        " and r.byte_offset is not distinct from i.byte_offset and r.error = i.error)",
    )


def execute_on(
    con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, sql: str, params: dict | None = None
) -> None:
    """Run a statement that reads the frame as the view `incoming` (nothing if it is empty)."""
    if frame.is_empty():
        return
    con.register("incoming", ArrowStream(frame))
    try:
        con.execute(sql, params or {})
    finally:
        con.unregister("incoming")


def rejection_frame(rejections: list[Rejection], at: datetime) -> pl.DataFrame:
    """Rejections as rows of raw.rejected_records."""
    return pl.DataFrame(
        {
            "source_object": [r.source_object for r in rejections],
            "byte_offset": [r.byte_offset for r in rejections],
            "error": [r.error for r in rejections],
            "payload": [r.payload for r in rejections],
            "rejected_at": [at] * len(rejections),
        },
        schema={
            "source_object": pl.String,
            "byte_offset": pl.Int64,
            "error": pl.String,
            "payload": pl.Binary,
            "rejected_at": pl.Datetime("us", "UTC"),
        },
    )


def _upsert_manifest(
    con: duckdb.DuckDBPyConnection, manifest: list[LoadedObject], at: datetime
) -> None:
    """Record objects as read: new ones, and the new row of one seen before.

    An object seen before comes back unchanged but for its version tag, or, if nothing of it
    was loaded before, with its new content.
    """
    frame = pl.DataFrame(
        [vars(m) for m in manifest],
        schema={
            "source_object": pl.String,
            "size_bytes": pl.Int64,
            "etag": pl.String,
            "md5": pl.String,
            "records": pl.Int32,
            "rejected": pl.Int32,
        },
    )
    execute_on(
        con,
        frame,
        "insert into raw.ingested_objects by name "
        "select *, $at::timestamptz as ingested_at from incoming "
        "on conflict (source_object) do update set size_bytes = excluded.size_bytes,"
        " etag = excluded.etag, md5 = excluded.md5, records = excluded.records,"
        " rejected = excluded.rejected, ingested_at = case when md5 = excluded.md5"
        " then ingested_at else excluded.ingested_at end",
        {"at": at},
    )
