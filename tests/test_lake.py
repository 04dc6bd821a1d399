"""The raw layer as a Parquet lake: the same rows as the warehouse's tables, exactly once."""

from __future__ import annotations

import os
import re
import shutil
import socket
import time
from dataclasses import replace
from pathlib import Path

import boto3
import duckdb
import polars as pl
import pytest
from helpers import assert_same_marts, cli, counts, event, query, write_object

import ingest.lake
import ingest.nightly
from ingest.config import Settings
from ingest.lake import (
    LAKE_TABLES,
    PARTITIONED,
    Lake,
    LakeError,
    connect_reader,
    connect_warehouse,
    lake_of,
)
from ingest.loading import SCHEMA_SQL
from ingest.nightly import run_nightly
from ingest.pipeline import run_ingest
from ingest.publishing import building_path, run_lock
from ingest.sample import generate_archive
from ingest.transform import DbtResult

# Columns that differ between any two runs of one archive, whatever the sink: the times of the
# run, and where a configuration was first seen (objects are read concurrently, so either of
# two objects showing it may come first).
RUN_DEPENDENT = {"ingested_at", "rejected_at", "first_ingested_at", "first_source_object",
                 "first_byte_offset"}  # fmt: skip
FILE = r"\d{8}T\d{12}Z-[0-9a-f]{12}\.parquet"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated archive with a damaged object, so that records are rejected too."""
    root = tmp_path_factory.mktemp("lake") / "archive"
    generate_archive(root, agents=4, days=2, seed=7)
    damaged = b'{"EventId": "x", "EventType": "LOGIN"}{"EventId"'
    (root / "2026/11/02/08").mkdir(parents=True, exist_ok=True)
    (root / "2026/11/02/08/damaged").write_bytes(damaged)
    return root


def _settings(archive: Path, tmp_path: Path, lake: str | None) -> Settings:
    """Small commits, so that a run writes many batches and configurations recur across them."""
    return Settings(
        source=str(archive),
        warehouse=tmp_path / "wh.duckdb",
        batch_objects=20,
        commit_records=500,
        lake=lake,
    )


def _lake_files(lake: Path) -> list[str]:
    """Every file below the lake, relative to it."""
    return sorted(str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file())


def test_a_lake_holds_the_same_raw_rows_as_the_warehouse(archive: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    to_lake = run_ingest(_settings(archive, tmp_path, str(lake)))
    to_db = run_ingest(_settings(archive, tmp_path, None))
    assert (to_lake.new, to_lake.records) == (to_db.new, to_db.records)
    assert to_lake.rejected_records == to_db.rejected_records > 0
    on_lake = tmp_path / "on-lake.duckdb"
    connect_warehouse(on_lake, str(lake)).close()

    assert counts(on_lake) == counts(tmp_path / "wh.duckdb")
    with duckdb.connect() as con:
        con.execute(f"attach '{tmp_path / 'wh.duckdb'}' as db (read_only)")
        con.execute(f"attach '{on_lake}' as lake (read_only)")
        for table in LAKE_TABLES:
            described = [
                con.execute(f"describe {db}.raw.{table}").fetchall() for db in ("db", "lake")
            ]
            types = [[(c[0], c[1]) for c in columns] for columns in described]
            assert types[0] == types[1], table
            cols = ", ".join(f'"{c}"' for c, _ in types[0] if c not in RUN_DEPENDENT)
            for left, right in (("db", "lake"), ("lake", "db")):
                diff = con.execute(
                    f"select {cols} from {left}.raw.{table}"
                    f" except all select {cols} from {right}.raw.{table}"
                ).fetchall()
                assert diff == [], f"{table}: rows in {left} only: {diff[:3]}"
    rejected = query(on_lake, "select count(*), min(error) from raw.rejected_records")
    assert rejected[0][0] == to_lake.rejected_records
    assert "invalid JSON" in rejected[0][1] or "lacks required" in rejected[0][1]

    files = _lake_files(lake)
    batches = {re.sub(r".*/", "", f) for f in files if f.startswith("ingested_objects/")}
    assert len(batches) > 3
    for f in files:
        table = f.split("/")[0]
        if table in PARTITIONED:
            assert re.fullmatch(rf"{table}/event_date=\d{{4}}-\d\d-\d\d/{FILE}", f), f
        else:
            assert re.fullmatch(rf"{table}/{FILE}", f), f
        assert re.sub(r".*/", "", f) in batches, f
    partitioned = query(
        on_lake,
        f"select count(*), count(*) filter (where event_date = cast(event_timestamp at time zone"
        f" 'UTC' as date)) from read_parquet('{lake}/agent_events/**/*.parquet',"
        " hive_partitioning = true)",
    )
    assert partitioned == [(to_lake.records,) * 2]
    keys = query(
        on_lake,
        "select count(*), count(distinct routing_profile_configuration_key)"
        f" from read_parquet('{lake}/routing_profile_configurations/*.parquet')",
    )
    assert keys[0][0] == keys[0][1] > 1  # each configuration once, though seen in many batches

    again = run_ingest(_settings(archive, tmp_path, str(lake)))
    assert (again.new, again.records, _lake_files(lake)) == (0, 0, files)


def test_a_local_lake_is_on_disk_before_its_manifest_commits(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the real fsync and rename, recorded in order (a power loss itself is not simulated)
    steps: list[tuple[str, ...]] = []
    fsync, rename = os.fsync, os.replace

    def recorded_fsync(fd: int) -> None:
        steps.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def recorded_rename(src: str | Path, dst: str | Path) -> None:
        steps.append(("rename", str(src), str(dst)))
        rename(src, dst)

    lake = (tmp_path / "lake").resolve()
    monkeypatch.setattr(os, "fsync", recorded_fsync)
    monkeypatch.setattr(os, "replace", recorded_rename)
    summary = run_ingest(_settings(archive, tmp_path, str(lake)))
    monkeypatch.undo()

    renames = [(i, Path(dst)) for i, (op, *paths) in enumerate(steps) if op == "rename"
               for dst in paths[1:] if Path(dst).is_relative_to(lake)]  # fmt: skip
    manifests = [(i, dst) for i, dst in renames if dst.parent.name == "ingested_objects"]
    assert len(renames) == len(_lake_files(lake)) and len(manifests) > 3
    for i, final in renames:  # content flushed before the rename, the folder right after
        temporary = steps[i][1]
        assert ("fsync", temporary) in steps[:i], final
        assert steps[i + 1] == ("fsync", str(final.parent)), final
    for i, manifest in manifests:  # every file of its batch in place and on disk before it
        batch = [j for j, dst in renames if dst.name == manifest.name and j != i]
        assert batch and max(batch) + 1 < i, manifest

    assert not [f for f in _lake_files(lake) if f.endswith(".tmp")]
    events = [pl.read_parquet(f) for f in lake.glob("agent_events/*/*.parquet")]
    assert sum(len(e) for e in events) == summary.records > 0


def test_uncommitted_files_are_invisible_and_removed_by_the_next_run(
    archive: Path, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    settings = _settings(archive, tmp_path, str(lake))
    first = run_ingest(settings)
    committed = _lake_files(lake)
    on_lake = tmp_path / "on-lake.duckdb"
    connect_warehouse(on_lake, str(lake)).close()
    before = counts(on_lake)
    # What a run killed before its manifest leaves: renamed data files, and a temporary one.
    events = next(lake.glob("agent_events/*/*.parquet"))
    orphan = events.with_name("20991231T235959000000Z-0123456789ab.parquet")
    shutil.copy(events, orphan)
    shutil.copy(events, events.with_name(f".{orphan.name}.tmp"))
    configurations = next(lake.glob("routing_profile_configurations/*.parquet"))
    shutil.copy(configurations, configurations.with_name(orphan.name))
    assert counts(on_lake) == before

    later = archive.parent / "later"
    write_object(later / "late.gz", [event("late", "2026-11-04T00:00:00.000Z")])
    again = run_ingest(replace(settings, source=str(later)))
    assert (again.new, again.records) == (1, 1)
    left = _lake_files(lake)
    assert not [f for f in left if orphan.name in f]
    assert set(committed) < set(left)
    assert counts(on_lake)["agent_events"] == first.records + 1


def test_a_lake_needs_a_warehouse_of_its_own(archive: Path, tmp_path: Path) -> None:
    run_ingest(_settings(archive, tmp_path, None))
    with pytest.raises(LakeError, match="keeps its raw tables itself"):
        connect_warehouse(tmp_path / "wh.duckdb", str(tmp_path / "lake"))
    assert counts(tmp_path / "wh.duckdb")["agent_events"] > 0
    on_lake = tmp_path / "on-lake.duckdb"
    connect_warehouse(on_lake, str(tmp_path / "lake")).close()
    with pytest.raises(LakeError, match="reads its raw tables from a lake"):
        run_ingest(replace(_settings(archive, tmp_path, None), warehouse=on_lake))


@pytest.mark.e2e
def test_an_s3_lake_gets_every_file_once(
    archive: Path, s3_server: str, s3_bucket: str, tmp_path: Path
) -> None:
    url = f"s3://{s3_bucket}/raw"
    first = run_ingest(_settings(archive, tmp_path, url))
    s3 = boto3.client("s3", endpoint_url=s3_server)
    listed = s3.list_objects_v2(Bucket=s3_bucket)
    keys = sorted(o["Key"] for o in listed["Contents"])
    assert listed["KeyCount"] < 1000  # one listing page holds them all
    assert not [k for k in keys if not re.fullmatch(r"raw/[a-z_]+/(event_date=[\d-]+/)?" + FILE, k)]
    assert {k.split("/")[1] for k in keys} == set(LAKE_TABLES)
    lake = Lake(url)
    events = lake.read("agent_events", lake.committed(), ["event_id"])
    assert len(events) == first.records > 0

    # What a run killed before its manifest leaves: a data file, and a temporary key.
    orphans = ["raw/agent_events/event_date=2026-11-02/20991231T235959000000Z-0123456789ab.parquet",
               "raw/agent_event_queues/.20991231T235959000000Z-0123456789ab.parquet.tmp"]  # fmt: skip
    for key in orphans:
        s3.put_object(Bucket=s3_bucket, Key=key, Body=b"PAR1")
    again = run_ingest(_settings(archive, tmp_path, url))
    assert (again.new, again.records) == (0, 0)
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]) == keys


@pytest.fixture(scope="module")
def on_db(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The archive run (ingest and dbt build) into a warehouse that keeps its raw tables."""
    warehouse = tmp_path_factory.mktemp("db") / "connect.duckdb"
    built = cli("run", "--source", archive, "--warehouse", warehouse)
    assert "every model built and every test passed" in built.stderr, built.stderr
    return warehouse


@pytest.mark.e2e
def test_dbt_on_a_lake_builds_the_same_marts(archive: Path, on_db: Path, tmp_path: Path) -> None:
    on_lake = tmp_path / "lake" / "connect.duckdb"
    lake = tmp_path / "raw-lake"
    built = cli("run", "--source", archive, "--warehouse", on_lake, "--lake", lake)
    assert built.returncode == 1, built.stderr  # 1: the damaged object's records are rejected
    assert "every model built and every test passed" in built.stderr
    assert query(on_lake, "select count(*) from raw.agent_events") == query(
        on_db, "select count(*) from raw.agent_events"
    )
    assert_same_marts(on_lake, on_db)
    views = query(
        on_lake,
        "select count(*) from duckdb_views() where schema_name = 'raw' and not internal",
    )
    assert views == [(len(LAKE_TABLES),)]
    assert pl.read_parquet(next(lake.glob("ingested_objects/*.parquet"))).height > 0


@pytest.mark.e2e
def test_dbt_on_an_s3_lake_builds_the_same_marts(
    archive: Path, on_db: Path, s3_bucket: str, tmp_path: Path
) -> None:
    # DuckDB reads the lake on the S3 server through s3fs (no httpfs), in our connections and
    # in dbt's (profiles.yml's filesystems)
    on_s3, url = tmp_path / "s3" / "connect.duckdb", f"s3://{s3_bucket}/raw"
    built = cli("run", "--source", archive, "--warehouse", on_s3, "--lake", url)
    assert built.returncode == 1, built.stderr  # 1: the damaged object's records are rejected
    assert "every model built and every test passed" in built.stderr
    assert " written; open " in built.stderr  # the report reads the raw views too
    assert_same_marts(on_s3, on_db)
    assert lake_of(on_s3) == url
    connect_warehouse(on_s3).close()  # its views made again over the lake it names (`build`)
    with connect_reader(on_s3) as con:
        raw = {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in LAKE_TABLES}
    assert raw == counts(on_db)
    shown = cli("sql", "select count(*) as n from raw.rejected_records", "--warehouse", on_s3)
    assert shown.returncode == 0 and str(raw["rejected_records"]) in shown.stdout, shown.stderr

    # a connection without the filesystem: the marts (tables) read, the raw views do not
    with duckdb.connect(str(on_s3), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_agent_status").fetchone()[0] > 0
        with pytest.raises(duckdb.Error):
            con.execute("select count(*) from raw.agent_events").fetchone()


@pytest.mark.e2e
def test_one_run_at_a_time_writes_a_lake_folder(archive: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with run_lock(lake / ".ingest"):
        other = cli("ingest", "--source", archive, "--warehouse", tmp_path / "b.duckdb",
                    "--lake", lake)  # fmt: skip
    assert other.returncode == 75
    assert f"{lake}/.ingest is being written by pid" in other.stderr
    assert not list(lake.glob("*/*"))


@pytest.mark.e2e
def test_a_warehouse_with_raw_rows_of_its_own_is_not_put_on_a_lake(
    archive: Path, tmp_path: Path
) -> None:
    wh, lake = tmp_path / "wh.duckdb", tmp_path / "lake"
    run_ingest(_settings(archive, tmp_path, None))
    refused = cli("ingest", "--source", archive, "--warehouse", wh, "--lake", lake)
    assert refused.returncode == 2
    assert f"not started: {wh} keeps its raw tables itself" in refused.stderr
    assert not list(lake.glob("*/*"))
    on_lake = tmp_path / "on-lake.duckdb"
    connect_warehouse(on_lake, str(lake)).close()
    without = cli("ingest", "--source", archive, "--warehouse", on_lake)
    assert without.returncode == 2
    assert f"not started: {on_lake} reads its raw tables from the lake {lake}" in without.stderr


def test_a_run_makes_the_lake_views_once_and_its_build_sees_its_new_batches(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Path] = []  # the copies whose views were made over the lake, in order
    built: list[int] = []  # the events the build's views showed it
    outcome = DbtResult(0, [], [])
    put_on_lake = ingest.lake.put_on_lake

    def counted(con: duckdb.DuckDBPyConnection, warehouse: Path, lake: Lake) -> None:
        made.append(warehouse)
        put_on_lake(con, warehouse, lake)

    def build(building: Path, full_refresh: bool = False) -> DbtResult:
        built.append(counts(building)["agent_events"])  # what dbt would read
        return outcome

    monkeypatch.setattr(ingest.lake, "put_on_lake", counted)
    monkeypatch.setattr(ingest.nightly, "dbt_build", build)
    settings = _settings(archive, tmp_path, str(tmp_path / "lake"))
    wh, later = settings.warehouse, archive.parent / "later-views"

    first = run_nightly(settings)  # a new lake: its first batches are in the build's views
    assert first.published and first.ingest is not None
    assert (made, built) == ([building_path(wh)], [first.ingest.records])
    write_object(later / "late.gz", [event("late-views", "2026-11-04T00:00:00.000Z")])
    second = run_nightly(replace(settings, source=str(later)))
    assert second.published and len(made) == 2 and built[1] == first.ingest.records + 1
    assert run_nightly(settings, build=False).published and len(made) == 3  # ingest: once too

    outcome = DbtResult(1, ["model.x"], [])  # not published: the fresh copy gets its views
    assert not run_nightly(settings, ingest=False).published and len(made) == 5
    assert counts(wh)["agent_events"] == built[-1] == first.ingest.records + 1
    runs = query(wh, "select command, published from raw.runs order by ended_at")
    assert runs == [("run", True), ("run", True), ("ingest", True), ("build", False)]


def _unreachable(endpoint: str, bucket: str) -> str:
    """The one line of a run stopped by an S3 lake it cannot read."""
    return (
        f"not started: the S3 lake s3://{bucket}/raw cannot be read ({{reason}}); check the"
        f" endpoint (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, {endpoint}), the credentials, and"
        f" that the bucket {bucket} exists\n"
    )


@pytest.mark.e2e
def test_an_unreachable_s3_lake_is_said_in_one_line_with_exit_status_2(
    archive: Path, s3_server: str, tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}"
    wh, lake = tmp_path / "wh.duckdb", "s3://lake/raw"
    cases = [  # the endpoint down (retried as configured), then a bucket missing on moto
        (["run", "--source", archive], down, "EndpointConnectionError: Could not connect to the"
         f' endpoint URL: "{down}/lake?list-type=2&prefix=raw&max-keys=1&encoding-type=url"'),
        (["build"], down, None),
        (["ingest", "--source", archive], s3_server,
         "FileNotFoundError: The specified bucket does not exist"),
    ]  # fmt: skip
    for args, endpoint, reason in cases:
        env = {**os.environ, "AWS_ENDPOINT_URL_S3": endpoint}
        started = time.monotonic()
        stopped = cli(*args, "--warehouse", wh, "--lake", lake, env=env)
        assert time.monotonic() - started < 30, args  # not minutes of retries
        assert stopped.returncode == 2, stopped.stderr
        expected = _unreachable(endpoint, "lake")
        if reason is None:
            assert re.fullmatch(re.escape(expected).replace(r"\{reason\}", ".*"), stopped.stderr)
        else:
            assert stopped.stderr == expected.format(reason=reason)
        assert not wh.exists()


def test_every_table_has_a_typed_file_from_the_first_batch(tmp_path: Path) -> None:
    # one event, no contact, nothing rejected: the tables without rows still get an empty file,
    # so that a reader (Spark, DuckDB) finds every table's folder and its columns
    lonely = event("lonely-1", "2026-11-02T08:00:00.000Z")
    lonely["CurrentAgentSnapshot"]["Contacts"] = []
    lonely["PreviousAgentSnapshot"]["Contacts"] = []
    archive = write_object(tmp_path / "archive/2026/11/02/08/a.gz", [lonely]).parents[4]
    lake = tmp_path / "lake"
    summary = run_ingest(_settings(archive, tmp_path, str(lake)))
    assert (summary.records, summary.rejected_records) == (1, 0)

    tables = {f.split("/")[0] for f in _lake_files(lake)}
    assert tables == set(LAKE_TABLES)
    empty = {"agent_event_contacts": "agent_event_contacts/event_date=2026-11-02/*.parquet",
             "rejected_records": "rejected_records/*.parquet"}  # fmt: skip
    with duckdb.connect() as con:
        con.execute(SCHEMA_SQL.read_text())
        for table, files in empty.items():
            scan = f"read_parquet('{lake / files}', hive_partitioning = false)"
            assert con.execute(f"select count(*) from {scan}").fetchone() == (0,), table
            found = con.execute(f"describe select * from {scan}").fetchall()
            schema = con.execute(f"describe raw.{table}").fetchall()
            assert [c[:2] for c in found] == [c[:2] for c in schema], table
