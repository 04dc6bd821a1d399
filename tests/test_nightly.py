"""The nightly job as users run it: the CLI, exit status, publishing, locking and crashes."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest
from helpers import CLI, cli, counts, event, query, write_object

from ingest.publishing import building_path, run_lock
from ingest.sample import generate_archive

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def sample_warehouse(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """A warehouse built by `run` from a small generated archive."""
    root = tmp_path_factory.mktemp("nightly")
    generate_archive(root / "archive", agents=4, days=2, seed=7)
    warehouse = root / "wh" / "connect.duckdb"
    result = cli("run", "--source", str(root / "archive"), "--warehouse", str(warehouse))
    return root, warehouse, result


def test_run_builds_every_contract_table_and_exits_zero(sample_warehouse) -> None:
    _, warehouse, result = sample_warehouse
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every model built and every test passed" in result.stderr
    assert re.search(
        r"data quality: duplicate rate [\d.]+% \([\d,]+ of [\d,]+ records\)", result.stderr
    )
    assert re.search(r"ingest: \d+ new objects, 0 skipped; [\d,]+ records loaded", result.stderr)
    for table in ("fct_agent_status", "dim_routing_profile", "dim_agent", "dim_queue",
                  "fct_agent_contacts", "agg_agent_status_daily"):  # fmt: skip
        assert query(warehouse, f"select count(*) > 0 from marts.{table}") == [(True,)], table
    assert query(warehouse, "select count(*) from staging.stg_agent_events") == query(
        warehouse, "select count(distinct event_id) from raw.agent_events"
    )
    assert not building_path(warehouse).exists()


def test_readme_queries_run_on_the_sample_warehouse(sample_warehouse) -> None:
    _, warehouse, _ = sample_warehouse
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 5
    for sql in blocks:
        rows = query(warehouse, sql)
        if "rejected_records" not in sql:
            assert rows, f"README query returned nothing:\n{sql}"


def test_rejections_make_the_exit_status_non_zero_and_say_where(tmp_path: Path) -> None:
    src = tmp_path / "src" / "2026/11/02/08"
    write_object(src / "good.gz", [event("e1", "2026-11-02T08:00:00.000Z")])
    bad = src / "bad"
    bad.write_bytes(b'{"EventId": "x", "EventType": "LOGIN"' + b"}{" + b'{"EventId"')
    wh = tmp_path / "wh.duckdb"
    result = cli("ingest", "--source", str(tmp_path / "src"), "--warehouse", str(wh))
    assert result.returncode == 1
    assert (
        f"rejected: {bad} (byte 0): agent event lacks required field(s) EventTimestamp, AgentARN"
        in result.stderr
    )
    assert f"rejected: {bad} (byte 38): invalid JSON" in result.stderr
    assert counts(wh)["agent_events"] == 1


def test_second_run_stops_naming_the_holder(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    with run_lock(wh):
        result = cli("ingest", "--source", str(tmp_path), "--warehouse", str(wh))
    assert result.returncode == 75
    assert f"is being written by pid {os.getpid()}" in result.stderr
    assert not wh.exists()


def test_readers_are_never_blocked_and_see_whole_nights(tmp_path: Path) -> None:
    src, wh = tmp_path / "src", tmp_path / "wh.duckdb"
    write_object(src / "2026/11/02/08/a.gz", [event("e1", "2026-11-02T08:00:00.000Z")])
    assert cli("ingest", "--source", str(src), "--warehouse", str(wh)).returncode == 0
    analyst = duckdb.connect(str(wh), read_only=True)
    try:
        write_object(src / "2026/11/02/09/b.gz", [event("e2", "2026-11-02T09:00:00.000Z")])
        second = cli("ingest", "--source", str(src), "--warehouse", str(wh))
        assert second.returncode == 0, second.stderr
        assert analyst.execute("select count(*) from raw.agent_events").fetchall() == [(1,)]
    finally:
        analyst.close()
    assert query(wh, "select count(*) from raw.agent_events") == [(2,)]


# Where the killed ingest writes, and how far it gets: MiB written to the warehouse's copy, or
# files written to the lake (its batches' data, manifests and temporary files).
KILLS = [
    ("warehouse", 0),
    ("warehouse", 2),
    ("warehouse", 12),
    ("lake", 0),
    ("lake", 8),
    ("lake", 40),
]


@pytest.mark.parametrize(("sink", "kill_after"), KILLS)
def test_a_killed_ingest_leaves_the_warehouse_as_it_was_and_the_next_run_finishes(
    tmp_path: Path, sink: str, kill_after: int
) -> None:
    src, wh, lake = tmp_path / "src", tmp_path / "wh.duckdb", tmp_path / "lake"
    to = ["--lake", str(lake)] if sink == "lake" else []
    stats = generate_archive(src, agents=12, days=1, seed=3)
    write_object(src / "0000/first.gz", [event("first", "2026-11-01T00:00:00.000Z")])
    env = {**os.environ, "INGEST_BATCH_OBJECTS": "5", "INGEST_COMMIT_RECORDS": "500"}
    subprocess.run(
        [CLI, "ingest", "--source", str(src / "0000"), "--warehouse", str(wh), *to],
        check=True,
        env=env,
    )
    before, files = counts(wh), _lake_files(lake)
    proc = subprocess.Popen([CLI, "ingest", "--source", str(src), "--warehouse", str(wh), *to],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    building = building_path(wh)
    deadline = time.monotonic() + 60
    if sink == "lake":
        while time.monotonic() < deadline and len(_lake_files(lake)) <= len(files) + kill_after:
            time.sleep(0.01)
    else:
        while (
            time.monotonic() < deadline
            and _written(building) <= wh.stat().st_size + kill_after * 2**20
        ):
            time.sleep(0.01)
    assert proc.poll() is None, "the ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if sink == "lake":  # the batches committed before the kill are whole, and visible
        loaded = query(wh, "select sum(records) from raw.ingested_objects")[0][0]
        assert counts(wh)["agent_events"] == loaded >= before["agent_events"]
    else:
        assert counts(wh) == before

    rerun = cli("ingest", "--source", str(src), "--warehouse", str(wh), *to, env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert query(
        wh, "select count(*), count(distinct (source_object, byte_offset)) from raw.agent_events"
    ) == [(stats.events + stats.duplicates + 1,) * 2]
    if sink == "lake":  # what the killed run left uncommitted is gone
        committed = {Path(f).name for f in _lake_files(lake) if f.startswith("ingested_objects/")}
        assert {Path(f).name for f in _lake_files(lake)} == committed


def _lake_files(lake: Path) -> list[str]:
    """The files of a lake (not its lock), relative to it."""
    found = [p for p in lake.rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    return sorted(str(p.relative_to(lake)) for p in found)


def test_two_runs_at_once_the_second_stops_naming_the_first(tmp_path: Path) -> None:
    src, wh = tmp_path / "src", tmp_path / "wh.duckdb"
    stats = generate_archive(src, agents=12, days=1, seed=5)
    first = subprocess.Popen([CLI, "ingest", "--source", str(src), "--warehouse", str(wh)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    lock = wh.with_name(wh.name + ".lock")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)  # hold the first run where it is, lock in hand
    try:
        second = cli("ingest", "--source", str(src), "--warehouse", str(wh))
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=120) == 0
    assert second.returncode == 75
    assert f"is being written by pid {first.pid} on " in second.stderr
    assert query(wh, "select count(*) from raw.agent_events") == [
        (stats.events + stats.duplicates,)
    ]


def _written(building: Path) -> int:
    """Bytes written so far to a warehouse being built and its write-ahead log."""
    wal = building.with_name(building.name + ".wal")
    return sum(p.stat().st_size for p in (building, wal) if p.exists())


def test_every_run_leaves_a_row_in_raw_runs(sample_warehouse) -> None:
    _, warehouse, _ = sample_warehouse
    rows = query(
        warehouse,
        "select command, published, exit_status, dbt_status, records_loaded, records_rejected,"
        " ended_at >= started_at, warnings from raw.runs",
    )
    loaded = query(warehouse, "select count(*) from raw.agent_events")[0][0]
    duplicates = (
        loaded - query(warehouse, "select count(distinct event_id) from raw.agent_events")[0][0]
    )
    rate = f"{duplicates / loaded:.1%} ({duplicates:,} of {loaded:,} records)"
    assert rows == [("run", True, 0, 0, loaded, 0, True, [f"data quality: duplicate rate {rate}"])]


def test_a_process_writing_the_warehouse_is_named(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    duckdb.connect(str(wh)).close()
    writer = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(wh)!r}); print('open', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert writer.stdout.readline().strip() == "open"
        result = cli("build", "--warehouse", str(wh))
    finally:
        writer.kill()
        writer.wait()
    assert result.returncode == 75
    assert "is open for writing by another process" in result.stderr
    assert f"(PID {writer.pid})" in result.stderr


def _children(pid: int) -> list[int]:
    """Processes whose parent is pid."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _marts(warehouse: Path) -> dict[str, list[tuple]]:
    """Every mart's rows, sorted."""
    tables = [
        t
        for (t,) in query(
            warehouse,
            "select table_name from information_schema.tables where table_schema = 'marts'",
        )
    ]
    return {t: query(warehouse, f"select * from marts.{t} order by all") for t in sorted(tables)}


@pytest.mark.parametrize("kill_after_seconds", [1.0, 3.0])
def test_a_killed_dbt_build_leaves_the_warehouse_as_it_was(
    tmp_path: Path, kill_after_seconds: float
) -> None:
    src = tmp_path / "src"
    generate_archive(src, agents=3, days=1, seed=11)
    reference, wh = tmp_path / "reference.duckdb", tmp_path / "wh.duckdb"
    assert cli("run", "--source", str(src), "--warehouse", str(reference)).returncode == 0
    assert cli("ingest", "--source", str(src), "--warehouse", str(wh)).returncode == 0
    before = wh.read_bytes()

    proc = subprocess.Popen(
        [CLI, "build", "--warehouse", str(wh)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _children(proc.pid):
        time.sleep(0.05)
    [dbt_pid] = _children(proc.pid)
    time.sleep(kill_after_seconds)
    assert proc.poll() is None, "the build finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{dbt_pid}").exists():
        time.sleep(0.05)
    assert not Path(f"/proc/{dbt_pid}").exists(), "dbt outlived the killed run"
    assert wh.read_bytes() == before

    again = cli("build", "--warehouse", str(wh))
    assert again.returncode == 0, again.stderr
    assert _marts(wh) == _marts(reference)


def test_docs_are_served_on_localhost_with_the_lineage(sample_warehouse) -> None:
    _, warehouse, _ = sample_warehouse
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [CLI, "docs", "--serve", "--port", str(port), "--warehouse", str(warehouse)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        manifest = _fetch_json(f"http://127.0.0.1:{port}/manifest.json", seconds=120)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert b"<html" in page.lower()
    fact = manifest["nodes"]["model.connect_agent_warehouse.fct_agent_status"]
    assert (
        "model.connect_agent_warehouse.int_agent_status_observations" in fact["depends_on"]["nodes"]
    )
    static = Path(__file__).resolve().parents[1] / "target" / "static_index.html"
    assert b"fct_agent_status" in static.read_bytes()


def _fetch_json(url: str, seconds: float) -> dict:
    """GET a JSON document, retrying until the server answers."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return json.loads(urllib.request.urlopen(url, timeout=5).read())
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_a_source_that_cannot_be_listed_is_said_clearly(tmp_path: Path) -> None:
    result = cli(
        "ingest", "--source", str(tmp_path / "missing"), "--warehouse", str(tmp_path / "wh.duckdb")
    )
    assert result.returncode == 1
    assert f"nothing loaded: cannot list {tmp_path / 'missing'}: source folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_sql_queries_the_warehouse_read_only(sample_warehouse) -> None:
    _, warehouse, _ = sample_warehouse
    agents = query(warehouse, "select count(distinct agent_arn) from marts.dim_agent")[0][0]
    shown = cli(
        "sql",
        "select count(distinct agent_arn) as agents from marts.dim_agent",
        "--warehouse",
        str(warehouse),
    )
    assert shown.returncode == 0 and re.search(rf"│\s+{agents} │", shown.stdout)
    refused = cli("sql", "create table marts.scratch as select 1", "--warehouse", str(warehouse))
    assert refused.returncode == 1 and "read-only" in refused.stderr


def test_reporting_timezone_moves_the_daily_split(sample_warehouse, tmp_path: Path) -> None:
    _, warehouse, _ = sample_warehouse
    copy = tmp_path / "kiritimati.duckdb"
    shutil.copyfile(warehouse, copy)
    env = {**os.environ, "REPORTING_TIMEZONE": "Pacific/Kiritimati"}  # UTC+14
    assert cli("build", "--full-refresh", "--warehouse", str(copy), env=env).returncode == 0
    daily = (
        "select activity_date, sum(seconds) from marts.agg_agent_status_daily group by 1 order by 1"
    )
    assert query(copy, daily) != query(warehouse, daily)
    total = "select round(sum(seconds)) from marts.agg_agent_status_daily"
    intervals = (
        "select round(sum(epoch(coalesce(ended_at, (select max(event_timestamp)"
        " from staging.stg_agent_events)) - started_at))) from marts.fct_agent_status"
    )  # open intervals count up to the latest event time
    assert query(copy, total) == query(warehouse, total) == query(warehouse, intervals)
    first_local_day = (
        "select min(timezone('Pacific/Kiritimati', started_at))::date"
        " from marts.fct_agent_status where ended_at is not null"
    )
    assert query(copy, daily)[0][0] == query(copy, first_local_day)[0][0]


def test_a_night_with_nothing_new_skips_the_build_until_something_changes(
    sample_warehouse, tmp_path: Path
) -> None:
    root, warehouse, _ = sample_warehouse
    copy = tmp_path / "wh.duckdb"
    shutil.copyfile(warehouse, copy)
    marts = "select count(*), sum(duration_seconds) from marts.fct_agent_status"
    last_run = "select command, dbt_status, published, exit_status from raw.runs order by ended_at desc limit 1"

    empty = cli("run", "--source", str(root / "archive"), "--warehouse", str(copy))
    assert empty.returncode == 0, empty.stderr
    assert "dbt build: skipped, nothing was loaded since the last build" in empty.stderr
    assert query(copy, last_run) == [("run", None, True, 0)]
    assert query(copy, marts) == query(warehouse, marts)

    # an ingest on its own loads events the marts do not have yet: the next night builds
    latest = "select record from raw.agent_events order by event_timestamp desc limit 1"
    heartbeat = json.loads(query(copy, latest)[0][0]) | {
        "EventId": "late-1",
        "EventType": "HEART_BEAT",
    }
    late = write_object(tmp_path / "late/2026/11/03/10/a.gz", [heartbeat])
    assert cli("ingest", "--source", str(late.parents[4]), "--warehouse", str(copy)).returncode == 0
    built = cli("run", "--source", str(root / "archive"), "--warehouse", str(copy))
    assert "dbt build: every model built and every test passed" in built.stderr, built.stderr
    assert query(
        copy, "select count(*) from staging.stg_agent_events where event_id = 'late-1'"
    ) == [(1,)]
    assert query(copy, last_run) == [("run", 0, True, 0)]

    # and a changed project setting (the reporting time zone) builds again
    env = {**os.environ, "REPORTING_TIMEZONE": "Europe/Paris"}
    again = cli("run", "--source", str(root / "archive"), "--warehouse", str(copy), env=env)
    assert "dbt build: every model built and every test passed" in again.stderr, again.stderr
    assert (
        "skipped"
        in cli("run", "--source", str(root / "archive"), "--warehouse", str(copy), env=env).stderr
    )


def test_a_build_by_a_changed_project_is_a_full_refresh(sample_warehouse, tmp_path: Path) -> None:
    _, warehouse, _ = sample_warehouse
    copy = tmp_path / "wh.duckdb"
    shutil.copyfile(warehouse, copy)
    daily = "select * from marts.dq_duplicates_daily order by all"
    planted = "select count(*) from marts.dq_duplicates_daily where event_date = '2020-01-01'"
    # a row of a day years before the look-back window, which an incremental night never reads
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "insert into marts.dq_duplicates_daily select * replace "
            "(date '2020-01-01' as event_date) from marts.dq_duplicates_daily limit 1"
        )

    same = cli("build", "--warehouse", str(copy))
    assert same.returncode == 0, same.stderr
    assert "full refresh" not in same.stderr
    assert query(copy, planted) == [(1,)]  # incremental: the old day is left as it is

    # the last build's project differs from this one (an upgrade): every mart is rebuilt
    with duckdb.connect(str(copy)) as con:
        con.execute("update raw.runs set dbt_fingerprint = 'the project of an older release'")
    changed = cli("build", "--warehouse", str(copy))
    assert changed.returncode == 0, changed.stderr
    assert "dbt build: full refresh, the dbt project" in changed.stderr
    assert query(copy, planted) == [(0,)]
    assert query(copy, daily) == query(warehouse, daily)
    assert "full refresh" not in cli("build", "--warehouse", str(copy)).stderr  # once
