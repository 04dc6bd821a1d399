"""Night-by-night builds against a full refresh where late data moves an incremental key, and
the data tests' look-back window: the nightly build tests the window, `verify` all history.
Every build is the real `dbt build` (or the CLI) on real DuckDB files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from helpers import assert_same_marts, cli, dbt_build, deliver, ingest_cli, query, t

from ingest.sample import agent_event, object_key, to_ms, write_object
from ingest.transform import RUN_RESULTS, VERIFY_TARGET

pytestmark = pytest.mark.e2e

A1 = {"agent": "agent-1", "username": "ann"}


def nights() -> dict[int, list[dict]]:
    """Night 1: LOGOUT 07:00, LOGIN 07:30, then at 08:00 a STATE_CHANGE whose Available
    reports the start 06:00 (before the LOGOUT), so it restarts at the LOGIN: 07:30.
    Night 2 brings a late LOGOUT 07:40 and LOGIN 07:45: Available now restarts at 07:45,
    and nothing shows an Available from 07:30 any more."""
    offline_0700 = {"status": "Offline", "status_start": t(2, 7)}
    logout = agent_event(
        "LOGOUT", t(2, 7), **A1, **offline_0700,
        previous_status="Available", previous_status_start=t(2, 6),
    )  # fmt: skip
    login = agent_event("LOGIN", t(2, 7, 30), **A1, **offline_0700)
    available = agent_event(
        "STATE_CHANGE", t(2, 8), **A1, status="Available", status_start=t(2, 6),
        previous_status="Offline", previous_status_start=t(2, 7),
    )  # fmt: skip
    offline_0740 = {"status": "Offline", "status_start": t(2, 7, 40)}
    late_logout = agent_event(
        "LOGOUT", t(2, 7, 40), **A1, **offline_0740,
        previous_status="Offline", previous_status_start=t(2, 7),
    )  # fmt: skip
    late_login = agent_event("LOGIN", t(2, 7, 45), **A1, **offline_0740)
    return {1: [logout, login, available], 2: [late_logout, late_login]}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The two nights built night by night and in one full refresh."""
    work = tmp_path_factory.mktemp("moved-key")
    archive = work / "archive"
    objects: dict[int, list[Path]] = {}
    for night, records in nights().items():
        path = archive / object_key(to_ms(t(1 + night, 23)), f"night{night}")
        write_object(path, records)
        objects[night] = [path]

    full = work / "full.duckdb"
    ingest_cli(archive, full)
    dbt_build(full, work, "--full-refresh")

    nightly = work / "nightly.duckdb"
    delivered = work / "delivered"
    for night in sorted(objects):
        deliver(objects[night], archive, delivered)
        ingest_cli(delivered, nightly)
        dbt_build(nightly, work)
    yield {"work": work, "full": full, "nightly": nightly}


INTERVALS = """
    select status_name, started_at, ended_at, duration_seconds
    from marts.fct_agent_status order by started_at, status_name
"""

EXPECTED = [
    # the LOGOUT's previous snapshot: 07:00 - 06:00 = 3600 s
    ("Available", t(2, 6), t(2, 7), 3600.0),
    # 07:40 - 07:00 = 2400 s
    ("Offline", t(2, 7), t(2, 7, 40), 2400.0),
    # the late LOGOUT's Offline, to the next interval: 07:45 - 07:40 = 300 s
    ("Offline", t(2, 7, 40), t(2, 7, 45), 300.0),
    # restarted at the late LOGIN; open
    ("Available", t(2, 7, 45), None, None),
]


def test_late_login_moves_the_status_start_and_the_stale_interval_disappears(built) -> None:
    assert query(built["full"], INTERVALS) == EXPECTED
    assert query(built["nightly"], INTERVALS) == EXPECTED
    stale = query(
        built["nightly"], "select count(*) from marts.fct_agent_status where started_at = ?",
        [t(2, 7, 30)],
    )  # fmt: skip
    assert stale == [(0,)]  # night 1's Available from 07:30 is gone


def test_night_by_night_equals_a_full_refresh_after_the_key_moved(built) -> None:
    assert_same_marts(built["full"], built["nightly"])


def test_verify_tests_all_history_where_the_nightly_build_tests_its_window(
    built, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh" / "connect.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(built["nightly"], warehouse)
    # a day counted twice, 2026-10-01: 32 days before the latest day (2 November), far
    # outside the 3-day test window and the 3-day look-back window the build rebuilds
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            """
            insert into marts.dq_duplicates_daily by name
            select date '2026-10-01' as event_date, 10 as records_received,
                10 as distinct_events, 0 as duplicate_records, 0 as duplicated_events,
                0.0 as duplicate_rate
            from range(2)
            """
        )

    nightly = cli("build", "--warehouse", warehouse)
    assert nightly.returncode == 0, nightly.stdout + nightly.stderr
    assert "every model built and every test passed" in nightly.stderr
    # the data tests of the intermediate views computed over all history
    # (meta.tested_in_verify_only) look at no row in the nightly build ...
    view_tests = ("not_null_int_agent_status_observations_", "not_null_int_contact_states_")
    nightly_sql = compiled_tests(RUN_RESULTS, view_tests)
    assert len(nightly_sql) == 5  # 3 columns of the statuses, 2 of the contacts
    assert all("where false" in sql for sql in nightly_sql.values())

    verified = cli("verify", "--warehouse", warehouse)
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert "1 tests failed" in verified.stderr
    assert "unique_dq_duplicates_daily_event_date" in verified.stderr
    # ... and at every row in verify, where each of them passed
    verify_sql = compiled_tests(VERIFY_TARGET / "run_results.json", view_tests)
    assert verify_sql.keys() == nightly_sql.keys()
    assert not any("where false" in sql for sql in verify_sql.values())
    # read-only: the bad rows are still there, nothing was written
    assert query(
        warehouse, "select count(*) from marts.dq_duplicates_daily where event_date = '2026-10-01'"
    ) == [(2,)]


def compiled_tests(run_results: Path, prefixes: tuple[str, ...]) -> dict[str, str]:
    """The compiled SQL of the tests in run_results.json whose names start with a prefix,
    by name; each must have passed."""
    found = {}
    for result in json.loads(run_results.read_text())["results"]:
        name = result["unique_id"].split(".")[2]
        if result["unique_id"].startswith("test.") and name.startswith(prefixes):
            assert result["status"] == "pass", result
            found[name] = result["compiled_code"]
    return found


def test_a_late_open_status_that_started_before_the_window_counts_every_day(
    tmp_path: Path,
) -> None:
    """Night 1: ann logs in on 10 November. Night 2 brings bob's first event, a STATE_CHANGE at
    12:00 on 10 November whose Available started on 1 November at 08:00, nine days before the
    one-day look-back window: the daily mart must still hold every day of it."""
    archive = tmp_path / "archive"
    ann = [
        agent_event("LOGIN", t(10, 6), **A1, status="Available", status_start=t(10, 6)),
        agent_event("HEART_BEAT", t(10, 9), **A1, status="Available", status_start=t(10, 6)),
    ]
    bob = agent_event(
        "STATE_CHANGE", t(10, 12), agent="agent-2", username="bob",
        status="Available", status_start=t(1, 8),
    )  # fmt: skip
    nights = [
        archive / object_key(to_ms(t(10, 10)), "night1"),
        archive / object_key(to_ms(t(11, 1)), "night2"),
    ]
    for path, records in zip(nights, [ann, [bob]], strict=True):
        write_object(path, records)
    full = tmp_path / "full.duckdb"
    ingest_cli(archive, full)
    dbt_build(full, tmp_path, "--full-refresh")
    nightly, delivered = tmp_path / "nightly.duckdb", tmp_path / "delivered"
    for night in nights:
        deliver([night], archive, delivered)
        ingest_cli(delivered, nightly)
        dbt_build(nightly, tmp_path)

    daily = """
        select activity_date, seconds from marts.agg_agent_status_daily
        where agent_arn like '%/agent-2' order by activity_date
    """
    expected = [
        (date(2026, 11, 1), 57_600.0),  # 08:00 to midnight: 16 h x 3600 s
        *[(date(2026, 11, day), 86_400.0) for day in range(2, 10)],  # 2-9 November, 24 h each
        (date(2026, 11, 10), 43_200.0),  # to the data horizon, bob's event at 12:00: 12 h
    ]
    assert sum(seconds for _, seconds in expected) == 792_000.0  # 57,600 + 8 x 86,400 + 43,200
    assert query(full, daily) == expected
    assert query(nightly, daily) == expected
    assert_same_marts(full, nightly)
