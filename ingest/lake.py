"""The raw tables as a Parquet lake (a folder or an S3 prefix), and the warehouse's views on it.

Layout: `<lake>/<table>/<batch>.parquet`, with agent_events and agent_event_contacts under
`event_date=YYYY-MM-DD/` (the UTC date of the event). Each commit of the ingest is one batch: its
files are written under a temporary name (`.<batch>.parquet.tmp`) and renamed, the manifest's
(`ingested_objects/<batch>.parquet`) last. A batch exists once its manifest file does: readers
and later runs ignore data files of any other batch, and the next run deletes them. In a local
lake each file is flushed to disk before its rename and its folder after, so that a power loss
cannot leave a manifest whose data files are lost.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from datetime import datetime
from pathlib import Path, PurePosixPath

import duckdb
import polars as pl

from ingest.config import INGEST_DUCKDB_CONFIG, s3_filesystem_options
from ingest.flattening import KEY, RawFrames
from ingest.listing import open_filesystem
from ingest.loading import (
    SCHEMA_SQL,
    TABLES,
    LakeError,
    LoadedObject,
    configurations_of,
    connect,
    execute_on,
    insert_new_configurations,
    rejection_frame,
)
from ingest.parsing import Rejection

MANIFEST = "ingested_objects"
PARTITION = "event_date"
PARTITIONED = ("agent_events", "agent_event_contacts")
# Every raw table but raw.runs (which stays in the warehouse), the manifest last.
LAKE_TABLES = (
    *PARTITIONED,
    "routing_profile_configurations",
    "agent_event_concurrency",
    "agent_event_queues",
    "rejected_records",
    MANIFEST,
)
PARQUET = "format parquet, compression zstd"
EVENT_DATE = "cast(event_timestamp at time zone 'UTC' as date)"
VIEW_COMMENT = "lake: "
# A rejection already recorded with the same place and reason is not recorded again.
REJECTION_KEY = ("source_object", "byte_offset", "error")


def batch_id(at: datetime) -> str:
    """A new batch's id: its UTC time (so ids sort in time order) and a random part."""
    return f"{at.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:12]}"


def batch_of(path: str) -> str:
    """The batch id in a lake file's name."""
    return PurePosixPath(path).name.removesuffix(".parquet")


def is_s3(lake: str) -> bool:
    """Whether the lake is an S3 prefix rather than a local folder."""
    return lake.startswith("s3://")


class Lake:
    """A lake's files: where each table's are, and which batches are committed."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.fs = open_filesystem(url)
        self.root = self.url.removeprefix("s3://") if is_s3(url) else str(Path(url).resolve())

    def path(self, *parts: str) -> str:
        """The filesystem path of a file or folder in the lake."""
        return "/".join([self.root, *parts])

    def location(self, *parts: str) -> str:
        """Where DuckDB finds a file or folder of the lake: an s3:// URL or a local path."""
        return ("s3://" if is_s3(self.url) else "") + self.path(*parts)

    def files(self, table: str) -> list[str]:
        """Every file below a table's folder (committed or not, temporary ones too), sorted."""
        return sorted(self.fs.find(self.path(table)))

    def committed(self) -> set[str]:
        """The batches whose manifest file exists."""
        return {batch_of(f) for f in self.files(MANIFEST) if f.endswith(".parquet")}

    def committed_files(self, table: str, batches: set[str]) -> list[str]:
        """A table's Parquet files of committed batches, in batch order."""
        found = [f for f in self.files(table) if f.endswith(".parquet") and batch_of(f) in batches]
        return sorted(found, key=batch_of)

    def remove_orphans(self) -> list[str]:
        """Delete what a killed run left: temporary files and files of uncommitted batches."""
        committed = self.committed()
        orphans = [
            f
            for table in LAKE_TABLES
            for f in self.files(table)
            if f.endswith(".tmp") or (f.endswith(".parquet") and batch_of(f) not in committed)
        ]
        for orphan in orphans:
            self.fs.rm_file(orphan)
        return orphans

    def read(self, table: str, batches: set[str], columns: list[str]) -> pl.DataFrame:
        """Some columns of a table's committed rows, in batch order (empty if it has none)."""
        frames = []
        for path in self.committed_files(table, batches):
            with self.fs.open(path, "rb") as handle:
                frames.append(pl.read_parquet(handle, columns=columns))
        return pl.concat(frames) if frames else pl.DataFrame()


def check_reachable(url: str) -> None:
    """Raise LakeError, in one sentence, if an S3 lake cannot be listed (its endpoint down, its
    bucket missing, no access); nothing for a folder."""
    if not is_s3(url):
        return
    lake = Lake(url)
    bucket, _, prefix = lake.root.partition("/")
    try:  # one request (with the retries of config.py), the permission every run needs
        lake.fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except Exception as exc:
        endpoint = s3_filesystem_options()["endpoint_url"] or "unset: AWS itself"
        raise LakeError(
            f"the S3 lake {url} cannot be read ({type(exc).__name__}: {exc}); check the endpoint"
            f" (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, {endpoint}), the credentials, and"
            f" that the bucket {bucket} exists"
        ) from None


class LakeSink:
    """The ingest's writer into a lake: one batch of Parquet files per commit, manifest last."""

    def __init__(self, url: str) -> None:
        self.lake = Lake(url)
        self.lake.remove_orphans()
        committed = self.lake.committed()
        columns = [*LoadedObject.__dataclass_fields__, "ingested_at"]
        self.known: dict[str, tuple[LoadedObject, datetime]] = {}
        for row in self.lake.read(MANIFEST, committed, columns).iter_rows(named=True):
            at = row.pop("ingested_at")  # in batch order: an object's latest row wins
            self.known[row["source_object"]] = (LoadedObject(**row), at)
        configurations = self.lake.read("routing_profile_configurations", committed, [KEY])
        self.keys = set(configurations.get_column(KEY)) if len(configurations) else set()
        rejected = self.lake.read("rejected_records", committed, list(REJECTION_KEY))
        self.rejected = set(rejected.iter_rows())
        # tables with a file already: the others get one even when empty, so that every reader
        # (DuckDB, Spark, Athena) finds each table's folder and its column types
        self.filed = {t for t in LAKE_TABLES if self.lake.committed_files(t, committed)}
        self.staging = tempfile.TemporaryDirectory(prefix="lake-")
        spill = {"temp_directory": self.staging.name}
        self.con = duckdb.connect(config=INGEST_DUCKDB_CONFIG | spill)
        self.con.execute(SCHEMA_SQL.read_text())

    def loaded_objects(self) -> dict[str, LoadedObject]:
        """The manifest: every object loaded so far (its latest row), by key."""
        return {key: row for key, (row, _) in self.known.items()}

    def load(
        self,
        frames: list[RawFrames],
        rejections: list[Rejection],
        manifest: list[LoadedObject],
        ingested_at: datetime,
    ) -> None:
        """Write parsed rows, rejections and manifest rows as one batch of files, manifest last."""
        con = self.con
        con.begin()
        try:
            for name, table in TABLES.items():
                rows = pl.concat([getattr(f, name) for f in frames], rechunk=False)
                stamp = ", $at::timestamptz as ingested_at" if name == "events" else ""
                sql = f"insert into {table} by name select *{stamp} from incoming"
                execute_on(con, rows, sql, {"at": ingested_at} if stamp else None)
            configurations, children = configurations_of(frames)
            new = configurations.filter(~pl.col(KEY).is_in(list(self.keys)))
            insert_new_configurations(con, new, children, ingested_at)
            found = rejection_frame(rejections, ingested_at)
            seen = [key not in self.rejected for key in found.select(REJECTION_KEY).iter_rows()]
            fresh = found.filter(pl.Series(seen, dtype=pl.Boolean))
            execute_on(
                con, fresh, "insert into raw.rejected_records by name select * from incoming"
            )
            execute_on(
                con,
                self._manifest_frame(manifest, ingested_at),
                "insert into raw.ingested_objects by name select * from incoming",
            )
            self._write(batch_id(ingested_at))
        finally:
            con.rollback()  # the rows are in the lake now (or not at all): the staging empties
        self.keys.update(new.get_column(KEY))
        self.rejected.update(fresh.select(REJECTION_KEY).iter_rows())
        for row in manifest:
            self.known[row.source_object] = (row, self._first_ingested(row, ingested_at))

    def _first_ingested(self, row: LoadedObject, at: datetime) -> datetime:
        """When the object's content was first loaded: earlier if it is unchanged, else now."""
        before = self.known.get(row.source_object)
        return before[1] if before is not None and before[0].md5 == row.md5 else at

    def _manifest_frame(self, manifest: list[LoadedObject], at: datetime) -> pl.DataFrame:
        """Manifest rows as rows of raw.ingested_objects."""
        return pl.DataFrame(
            [vars(m) | {"ingested_at": self._first_ingested(m, at)} for m in manifest],
            schema={
                "source_object": pl.String,
                "size_bytes": pl.Int64,
                "etag": pl.String,
                "md5": pl.String,
                "records": pl.Int32,
                "rejected": pl.Int32,
                "ingested_at": pl.Datetime("us", "UTC"),
            },
        )

    def _write(self, batch: str) -> None:
        """The staged rows as the batch's files: data first, by event date where partitioned,
        then the manifest, whose file commits the batch."""
        con = self.con
        dates = con.execute(f"select distinct {EVENT_DATE} from raw.agent_events").fetchall()
        contacts = 0
        for n, (day,) in enumerate(sorted(dates)):
            where = f"{EVENT_DATE} = date '{day.isoformat()}'"
            folder = f"{PARTITION}={day.isoformat()}"
            self._copy(
                f"select * from raw.agent_events where {where}", "agent_events", folder, batch
            )
            dated = (
                "select c.* from raw.agent_event_contacts c join (select distinct source_object,"
                f" byte_offset from raw.agent_events where {where}) e using (source_object,"
                " byte_offset)"
            )
            first = n == 0 and "agent_event_contacts" not in self.filed
            contacts += self._copy(dated, "agent_event_contacts", folder, batch, always=first)
        stored = con.execute("select count(*) from raw.agent_event_contacts").fetchone()[0]
        if contacts != stored:  # every contact belongs to an event of its batch
            raise RuntimeError(f"{stored - contacts} contacts without their event in the batch")
        for table in LAKE_TABLES[len(PARTITIONED) : -1]:
            always = table not in self.filed
            self._copy(f"select * from raw.{table}", table, None, batch, always=always)
        self._copy(f"select * from raw.{MANIFEST}", MANIFEST, None, batch, always=True)
        self.filed.update(LAKE_TABLES[1:] if dates else LAKE_TABLES[2:])

    def _copy(
        self, sql: str, table: str, folder: str | None, batch: str, always: bool = False
    ) -> int:
        """Write a query's rows as one Parquet file of the batch (none if there are no rows,
        unless always); the number of rows written."""
        rows = self.con.execute(f"select count(*) from ({sql})").fetchone()[0]
        if not rows and not always:
            return 0
        parts = [table, *([folder] if folder else [])]
        final = self.lake.path(*parts, f"{batch}.parquet")
        temporary = self.lake.path(*parts, f".{batch}.parquet.tmp")
        if is_s3(self.lake.url):
            local = Path(self.staging.name, f"{batch}.parquet")
            self.con.execute(f"copy ({sql}) to '{_quoted(str(local))}' ({PARQUET})")
            self.lake.fs.put_file(str(local), temporary)
            self.lake.fs.mv(temporary, final)
            local.unlink()
        else:
            _make_folder(Path(temporary).parent)
            self.con.execute(f"copy ({sql}) to '{_quoted(temporary)}' ({PARQUET})")
            _durable_rename(Path(temporary), Path(final))
        return rows

    def close(self) -> None:
        """Let the staging database and folder go."""
        self.con.close()
        self.staging.cleanup()


def _make_folder(folder: Path) -> None:
    """Create a folder and its missing parents, each one's name on disk in its parent."""
    missing = [f for f in (folder, *folder.parents) if not f.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    for created in missing:
        _sync_folder(created.parent)


def _durable_rename(temporary: Path, final: Path) -> None:
    """Rename a written file into place, its content on disk before the rename and the
    rename on disk before returning (so a manifest written later never outlives its data)."""
    with temporary.open("rb") as written:
        os.fsync(written.fileno())
    os.replace(temporary, final)
    _sync_folder(final.parent)


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (names created, renamed or removed) to disk."""
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _quoted(text: str) -> str:
    """Text for a single-quoted SQL literal."""
    return text.replace("'", "''")


def lake_of(warehouse: Path) -> str | None:
    """The lake the warehouse's raw views read, or None if it keeps its raw tables itself."""
    if not warehouse.exists():
        return None
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return _lake_on(con)


def _lake_on(con: duckdb.DuckDBPyConnection) -> str | None:
    """The lake the connected warehouse's raw views read, or None."""
    found = con.execute(
        "select comment from duckdb_views() where database_name = current_database()"
        " and schema_name = 'raw' and view_name = ?",
        [MANIFEST],
    ).fetchall()
    comment = found[0][0] if found else None
    return comment.removeprefix(VIEW_COMMENT) if comment else None


def register_filesystem(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Let the connection's database read an S3 lake through the lake's own s3fs filesystem
    (DuckDB's httpfs extension is not needed); nothing for a folder, or if one is already
    registered (a database open twice in a process shares its filesystems)."""
    if is_s3(lake.url) and "s3" not in con.list_filesystems():
        con.register_filesystem(lake.fs)


def connect_reader(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """The warehouse, read-only, able to read its raw views if they are over an S3 lake."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        lake = _lake_on(con)
        if lake and is_s3(lake):
            register_filesystem(con, Lake(lake))
    except BaseException:
        con.close()
        raise
    return con


def connect_warehouse(
    warehouse: Path, lake: str | None = None, *, make_views: bool = True
) -> duckdb.DuckDBPyConnection:
    """The warehouse with its raw schema: its own tables, or views over its lake (the one
    given, else the one it was put on), made again over the lake's files unless make_views is
    False (the run made them in this copy already)."""
    lake = lake or lake_of(warehouse)
    if lake is None:
        return connect(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse))
    try:
        if make_views:
            con.begin()
            put_on_lake(con, warehouse, Lake(lake))
            con.commit()
        else:
            register_filesystem(con, Lake(lake))
    except BaseException:
        con.close()
        raise
    return con


def put_on_lake(con: duckdb.DuckDBPyConnection, warehouse: Path, lake: Lake) -> None:
    """Make the raw tables views over the lake's committed batches (raw.runs stays a table)."""
    register_filesystem(con, lake)
    con.execute("create schema if not exists raw")
    views = con.execute(
        "select view_name from duckdb_views() where database_name = current_database()"
        " and schema_name = 'raw'"
    ).fetchall()
    for (view,) in views:
        if view in LAKE_TABLES:
            con.execute(f"drop view raw.{view}")
    con.execute(SCHEMA_SQL.read_text())  # raw.runs, and empty raw tables giving the types
    _refuse_own_rows(con, warehouse, lake.url)
    columns = {
        table: con.execute(
            "select column_name, data_type from duckdb_columns()"
            " where database_name = current_database() and schema_name = 'raw'"
            " and table_name = ? order by column_index",
            [table],
        ).fetchall()
        for table in LAKE_TABLES
    }
    for table in LAKE_TABLES:
        con.execute(f"drop table raw.{table}")
    for table in LAKE_TABLES:
        con.execute(f"create view raw.{table} as {_view_sql(lake, table, columns[table])}")
    where = lake.url if is_s3(lake.url) else lake.root  # a folder as an absolute path
    con.execute(f"comment on view raw.{MANIFEST} is '{_quoted(VIEW_COMMENT + where)}'")


def refuse_own_tables(warehouse: Path, lake: str) -> None:
    """Raise LakeError if the warehouse keeps raw rows itself: it cannot be put on a lake."""
    if warehouse.exists():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            _refuse_own_rows(con, warehouse, lake)


def _refuse_own_rows(con: duckdb.DuckDBPyConnection, warehouse: Path, lake: str) -> None:
    """Raise LakeError if a raw table of the lake's is a table of the warehouse's with rows."""
    tables = con.execute(
        "select table_name from duckdb_tables() where database_name = current_database()"
        " and schema_name = 'raw'"
    ).fetchall()
    for table in [t for (t,) in tables if t in LAKE_TABLES]:
        rows = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
        if rows:
            raise LakeError(
                f"{warehouse} keeps its raw tables itself ({rows:,} rows in raw.{table}): "
                f"it cannot be put on the lake {lake}; use a new warehouse file for a lake"
            )


def _view_sql(lake: Lake, table: str, columns: list[tuple[str, str]]) -> str:
    """A raw table's committed rows in the lake, with the columns and types of schema.sql."""
    if not any(f.endswith(".parquet") for f in lake.files(table)):  # none yet: no rows
        nulls = ", ".join(f'cast(null as {kind}) as "{name}"' for name, kind in columns)
        return f"select {nulls} where false"
    typed = ", ".join(f'cast("{name}" as {kind}) as "{name}"' for name, kind in columns)
    files = _quoted(lake.location(table, "**", "*.parquet"))
    scan = f"read_parquet('{files}', hive_partitioning = true, filename = true)"
    batch = "parse_filename(filename, true)"
    if table == MANIFEST:  # the latest row of each object
        return (
            f"select {typed} from {scan} qualify row_number() over"
            f" (partition by source_object order by {batch} desc) = 1"
        )
    manifests = _quoted(lake.location(MANIFEST, "*.parquet"))
    committed = f"select parse_filename(file, true) from glob('{manifests}')"
    return f"select {typed} from {scan} where {batch} in ({committed})"
