"""The same marts on Apache Spark as on DuckDB (issue 15).

One lake holds the generated sample and the hand-built test days (test_models' story and
test_activity's agents): DuckDB builds it from its warehouse, Spark (dbt-spark, session
method, local mode) from the same Parquet lake, which the ingest writes (`--lake`), each in
one `dbt build` (models and data tests). Every mart, and stg_agent_events, is then compared
row by row: the same columns, the same rows, floating point to 1e-9, timestamps as UTC
instants. Spark's tables are read from its warehouse folder with DuckDB, so no second
Spark session starts. Marked `spark`: `make test-spark` (pyspark, dbt-spark and a Java
runtime), not `make test`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from helpers import BIN, LOOKBACK, MARTS, ROOT, cli, dbt_build
from test_activity import write_archive as write_activity_days
from test_models import write_story

from ingest.sample import generate_archive

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

TABLES = [("marts", mart) for mart in MARTS] + [("staging", "stg_agent_events")]


def spark_build(lake: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """`dbt build` on the profile's spark target, reading the lake."""
    env = {
        **os.environ,
        "RAW_LAKE": str(lake),
        "SPARK_DIR": str(work / "spark"),
        "SPARK_THREADS": "2",
    }
    return subprocess.run(
        [
            BIN / "dbt",
            "build",
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
            "--exclude",  # unit tests of incremental runs: DuckDB only, for now
            "tag:incremental_behaviour",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """The lake built on DuckDB and on Spark."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("no Java runtime (JAVA_HOME or java on PATH): make test-spark needs one")
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
    # every unit test but the two of incremental runs (tag incremental_behaviour) ran and passed
    target = both["target"]
    assert isinstance(target, Path)
    unit_tests = json.loads((target / "manifest.json").read_text())["unit_tests"]
    expected = {
        k for k, u in unit_tests.items() if "incremental_behaviour" not in u["config"]["tags"]
    }
    results = json.loads((target / "run_results.json").read_text())["results"]
    ran = {r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert ran == dict.fromkeys(expected, "pass") and len(ran) == len(unit_tests) - 2 > 0


def rows(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"select {cols} from {relation} order by all").fetchall()


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    return a == b


@pytest.mark.parametrize(("schema", "table"), TABLES, ids=[t for _, t in TABLES])
def test_the_same_rows_on_spark(both: dict[str, object], schema: str, table: str) -> None:
    folder = Path(str(both["spark"])) / f"{schema}.db" / table
    assert folder.is_dir(), f"Spark built no {schema}.{table}"
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach '{both['warehouse']}' as duck (read_only)")
        con.execute(
            f"create view spark_table as select * from read_parquet('{folder}/**/*.parquet')"
        )
        duck_columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_catalog = 'duck'"
                " and table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
        ]
        spark_columns = [r[0] for r in con.execute("describe spark_table").fetchall()]
        assert spark_columns == duck_columns
        duck_rows = rows(con, f"duck.{schema}.{table}", duck_columns)
        spark_rows = rows(con, "spark_table", duck_columns)
    assert duck_rows, f"{schema}.{table} is empty: the comparison would prove nothing"
    assert len(spark_rows) == len(duck_rows)
    for duck_row, spark_row in zip(duck_rows, spark_rows, strict=True):
        assert all(map(same, duck_row, spark_row)), (
            f"{schema}.{table}: DuckDB {duck_row} / Spark {spark_row}"
        )
