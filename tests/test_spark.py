"""The same marts on Apache Spark as on DuckDB (issue 15).

One lake holds the generated sample and the hand-built test days (test_models' story and
test_activity's agents): DuckDB builds it from its warehouse, Spark (dbt-spark, session
method, local mode) from the same Parquet lake, which the ingest writes (`--lake`), each in
one `dbt build` (models and data tests). Then the same data arrives in four nights, and
each engine builds night by night: its incremental models run their incremental branch
(DuckDB's delete+insert, merge and window_replace; Spark's insert overwrite). Every mart, and
stg_agent_events, is compared row by row, both times: the same columns, the same rows,
floating point to 1e-9, timestamps as UTC instants. Spark's tables are read from its
warehouse folder with DuckDB, so no second Spark session starts. Marked `spark`: `make
test-spark` (pyspark, dbt-spark and a Java runtime), not `make test`.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from helpers import BIN, LOOKBACK, MARTS, ROOT, cli, dbt_build, deliver
from test_activity import write_archive as write_activity_days
from test_models import write_story

from ingest.sample import generate_archive

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

TABLES = [("marts", mart) for mart in MARTS] + [("staging", "stg_agent_events")]


def spark_build(lake: Path, work: Path, command: str = "build") -> subprocess.CompletedProcess[str]:
    """`dbt build` (or `command`) on the profile's spark target, reading the lake."""
    env = {
        **os.environ,
        "RAW_LAKE": str(lake),
        "SPARK_DIR": str(work / "spark"),
        "SPARK_THREADS": "2",
    }
    return subprocess.run(
        [
            BIN / "dbt",
            command,
            "--target",
            "spark",
            "--project-dir",
            ROOT,
            "--profiles-dir",
            ROOT,
            "--target-path",
            work / "target-spark",
            "--log-path",
            work / "logs-spark",
            "--vars",
            LOOKBACK,
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def require_java() -> None:
    """Fails the test, saying why, without a Java runtime."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("no Java runtime (JAVA_HOME or java on PATH): make test-spark needs one")


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """The lake built on DuckDB and on Spark."""
    require_java()
    work = tmp_path_factory.mktemp("spark")
    archive = work / "archive"
    generate_archive(archive, agents=4, days=2, seed=11)
    write_story(archive)
    write_activity_days(archive)
    warehouse = work / "duckdb.duckdb"
    lake = work / "lake"  # the ingest's lake sink; the warehouse's raw tables are views on it
    ingested = cli("ingest", "--source", archive, "--lake", lake, "--warehouse", warehouse)
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    dbt_build(warehouse, work)
    started = time.monotonic()
    result = spark_build(lake, work)
    yield {
        "warehouse": warehouse,
        "spark": work / "spark" / "spark-warehouse",
        "target": work / "target-spark",
        "result": result,
        "seconds": time.monotonic() - started,
    }
    shutil.rmtree(work, ignore_errors=True)


def test_spark_builds_every_model_and_passes_every_test(both: dict[str, object]) -> None:
    result = both["result"]
    assert isinstance(result, subprocess.CompletedProcess)
    print(f"dbt build on Spark: {both['seconds']:.0f} s")
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    # every unit test, those of incremental runs (tag incremental_behaviour) too, ran and passed
    target = both["target"]
    assert isinstance(target, Path)
    unit_tests = json.loads((target / "manifest.json").read_text())["unit_tests"]
    tagged = [k for k, u in unit_tests.items() if "incremental_behaviour" in u["config"]["tags"]]
    results = json.loads((target / "run_results.json").read_text())["results"]
    ran = {r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert ran == dict.fromkeys(unit_tests, "pass") and len(tagged) == 2


def rows(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"select {cols} from {relation} order by all").fetchall()


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    return a == b


def assert_same_rows(warehouse: Path, spark: Path, schema: str, table: str) -> None:
    """DuckDB's table and Spark's (read from its folder, partitions too) hold the same rows."""
    folder = spark / f"{schema}.db" / table
    assert folder.is_dir(), f"Spark built no {schema}.{table}"
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach '{warehouse}' as duck (read_only)")
        con.execute(
            "create view spark_table as select * from"
            f" read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
        )
        duck_columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_catalog = 'duck'"
                " and table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
        ]
        # Spark puts a table's partition column last
        spark_columns = [r[0] for r in con.execute("describe spark_table").fetchall()]
        assert sorted(spark_columns) == sorted(duck_columns)
        duck_rows = rows(con, f"duck.{schema}.{table}", duck_columns)
        spark_rows = rows(con, "spark_table", duck_columns)
    assert duck_rows, f"{schema}.{table} is empty: the comparison would prove nothing"
    assert len(spark_rows) == len(duck_rows)
    for duck_row, spark_row in zip(duck_rows, spark_rows, strict=True):
        assert all(map(same, duck_row, spark_row)), (
            f"{schema}.{table}: DuckDB {duck_row} / Spark {spark_row}"
        )


@pytest.mark.parametrize(("schema", "table"), TABLES, ids=[t for _, t in TABLES])
def test_the_same_rows_on_spark(both: dict[str, object], schema: str, table: str) -> None:
    assert_same_rows(Path(str(both["warehouse"])), Path(str(both["spark"])), schema, table)


def night_objects(archive: Path) -> list[list[Path]]:
    """Four nights of deliveries, in event-time order: the sample's days (2 to 4 November) with
    the story's nights (test_models), then test_activity's two nights (10 November)."""
    sample = sorted(p for p in (archive / "sample").rglob("*") if p.is_file())
    days = sorted({p.relative_to(archive / "sample").parts[:3] for p in sample})
    assert len(days) == 3
    story = write_story(archive / "story")
    activity = write_activity_days(archive / "activity")
    nights = [
        [p for p in sample if p.relative_to(archive / "sample").parts[:3] == day] + story[night]
        for night, day in enumerate(days, start=1)
    ]
    nights[2] += activity[1]
    nights.append(activity[2])
    return nights


@pytest.fixture(scope="module")
def nightly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Four nights, each ingested into the lake and built on DuckDB and on Spark."""
    require_java()
    work = tmp_path_factory.mktemp("spark-nightly")
    archive, source = work / "archive", work / "source"
    generate_archive(archive / "sample", agents=4, days=3, seed=12)
    warehouse, lake = work / "duckdb.duckdb", work / "lake"
    for number, objects in enumerate(night_objects(archive), start=1):
        assert objects
        deliver(objects, archive, source)
        ingested = cli("ingest", "--source", source, "--lake", lake, "--warehouse", warehouse)
        assert ingested.returncode == 0, ingested.stdout + ingested.stderr
        dbt_build(warehouse, work)
        # models only on the first nights; the last one runs every test too
        result = spark_build(lake, work, "build" if number == 4 else "run")
        assert result.returncode == 0, f"night {number}: " + result.stdout[-8000:]
    yield {"warehouse": warehouse, "spark": work / "spark" / "spark-warehouse", "work": work}
    shutil.rmtree(work, ignore_errors=True)


def manifest_path(manifest: dict, model: str) -> str:
    """The path of a model's file."""
    return next(n["original_file_path"] for n in manifest["nodes"].values() if n["name"] == model)


def test_spark_runs_are_incremental_insert_overwrites(nightly: dict[str, Path]) -> None:
    manifest = json.loads((nightly["work"] / "target-spark" / "manifest.json").read_text())
    incremental = {
        n["name"]: n["config"].get("partition_by")
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["config"]["materialized"] == "incremental"
    }
    log = (nightly["work"] / "logs-spark" / "dbt.log").read_text()
    assert len(incremental) == 13
    for model, partition_by in incremental.items():
        # nights 2, 3 and 4 overwrote each incremental model from its staged rows
        schema = "marts" if "marts" in manifest_path(manifest, model) else "staging"
        overwrites = re.findall(
            rf"insert overwrite table {schema}\.{model}\s+"
            + (rf"partition \({partition_by[0]}\)\s+" if partition_by else "")
            + rf"select [^\n]* from {schema}\.{model}__dbt_next\n",
            log,
        )
        assert len(overwrites) == 3, model
    # the models rebuilt by whole days are partitioned by their day on Spark
    days = {m: p for m, p in incremental.items() if p}
    assert days == {
        "agg_agent_status_daily": ["activity_date"],
        "agg_agent_activity_15m": ["interval_date"],
        "dq_duplicates_daily": ["event_date"],
    }
    for model, (column,) in days.items():
        folder = nightly["spark"] / "marts.db" / model
        assert len(list(folder.glob(f"{column}=*"))) >= 3, model
    # and no staging table is left behind
    assert not list(nightly["spark"].glob("*.db/*__dbt_next"))


@pytest.mark.parametrize(("schema", "table"), TABLES, ids=[t for _, t in TABLES])
def test_the_same_rows_night_by_night(nightly: dict[str, Path], schema: str, table: str) -> None:
    assert_same_rows(nightly["warehouse"], nightly["spark"], schema, table)
