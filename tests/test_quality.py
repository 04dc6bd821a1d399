"""The data-quality marts and quality_report: hand-built archives -> ingest CLI -> `dbt build`.

One hand-built day has a 10-minute silence while logged in, a lost hour of objects, heartbeats
after LOGOUT, a session closed without LOGOUT and a duplicated record; a small generated sample
(heartbeats every 120 s) must give no gap and no missing hour.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers import dbt_build, ingest_cli, query, t

from ingest.quality import quality_report
from ingest.sample import agent_event, generate_archive, object_key, to_ms, write_object

pytestmark = pytest.mark.e2e

ANN = {"agent": "agent-1", "username": "ann"}
BOB = {"agent": "agent-2", "username": "bob"}
CAT = {"agent": "agent-3", "username": "cat"}
DQ_TESTS = ("no_event_gaps", "no_missing_hours", "rate_at_most")


def heartbeats(who: dict, first: datetime, last: datetime, status: str = "Available") -> list:
    """HEART_BEATs every 120 s from first to last (inclusive)."""
    beats, at = [], first
    while at <= last:
        beats.append(agent_event("HEART_BEAT", at, **who, status=status, status_start=first))
        at += timedelta(seconds=120)
    return beats


def scenario() -> list[dict]:
    """Every event Connect published on 2026-11-02 (before Firehose lost anything)."""
    ann = [
        agent_event("LOGIN", t(2, 8), **ANN, with_previous=False),
        *heartbeats(ANN, t(2, 8, 2), t(2, 8, 40)),
        # 10 minutes of silence while logged in: 08:40 -> 08:50
        agent_event(
            "STATE_CHANGE", t(2, 8, 50), **ANN, status="Break", previous_status="Available"
        ),
        *heartbeats(ANN, t(2, 8, 52), t(2, 9, 28), status="Break"),
        agent_event("LOGOUT", t(2, 9, 30), **ANN, status="Offline", previous_status="Break"),
    ]
    bob = [
        agent_event("LOGIN", t(2, 10), **BOB, with_previous=False),
        *heartbeats(BOB, t(2, 10, 2), t(2, 13, 58)),
        agent_event("LOGOUT", t(2, 14), **BOB, status="Offline", previous_status="Available"),
    ]
    cat = [
        agent_event("LOGIN", t(2, 8), **CAT, with_previous=False),
        *heartbeats(CAT, t(2, 8, 2), t(2, 8, 58)),
        agent_event("LOGOUT", t(2, 9), **CAT, status="Offline", previous_status="Available"),
        # heartbeats go on after logout, then stop: never a gap
        *heartbeats(CAT, t(2, 9, 2), t(2, 9, 4)),
        agent_event("HEART_BEAT", t(2, 9, 30), **CAT),
        # a session closed without LOGOUT (browser closed), then a new LOGIN: no gap
        agent_event("LOGIN", t(2, 15), **CAT, with_previous=False),
        *heartbeats(CAT, t(2, 15, 2), t(2, 15, 4)),
        agent_event("LOGIN", t(2, 16), **CAT, with_previous=False),
        agent_event("LOGOUT", t(2, 16, 1), **CAT, status="Offline", previous_status="Available"),
    ]
    return ann + bob + cat


def write_archive(archive: Path) -> int:
    """One object per hour of event time; hour 12 is lost; ann's LOGIN delivered twice."""
    by_hour: dict[int, list[dict]] = {}
    for record in scenario():
        at = datetime.fromisoformat(record["EventTimestamp"])
        by_hour.setdefault(at.hour, []).append(record)
    del by_hour[12]  # Firehose lost the hour: bob is silent 11:58 -> 13:00
    by_hour[9].append(by_hour[8][0])  # ann's LOGIN again, a retried delivery
    for hour, records in by_hour.items():
        key = object_key(to_ms(t(2, hour, 0, 30)), f"hour{hour}")
        if hour == 15:  # a key with neither a dated folder nor a Firehose stamp
            key = "manual-upload/session-15.json"
        elif hour == 16:  # a Firehose file name outside a dated folder
            key = "flat/" + key.rsplit("/", 1)[1]
        write_object(archive / key, records)
    return sum(len(records) for records in by_hour.values())


def dq_test_statuses(work: Path) -> dict[str, str]:
    """Status of each data-quality test in the last dbt run of this work folder."""
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return {
        name: r["status"]
        for r in results
        for name in DQ_TESTS
        if r["unique_id"].startswith(f"test.connect_agent_warehouse.{name}_")
    }


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The hand-built day, ingested and built once."""
    work = tmp_path_factory.mktemp("dq-story")
    records = write_archive(work / "archive")
    warehouse = work / "dq.duckdb"
    ingest_cli(work / "archive", warehouse)
    dbt_build(warehouse, work)  # warnings only: exit status 0
    yield {"warehouse": warehouse, "records": records, "tests": dq_test_statuses(work)}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A small generated sample, ingested and built once."""
    work = tmp_path_factory.mktemp("dq-sample")
    stats = generate_archive(work / "archive", agents=5, days=2, seed=7)
    warehouse = work / "dq.duckdb"
    ingest_cli(work / "archive", warehouse)
    dbt_build(warehouse, work)
    yield {"warehouse": warehouse, "stats": stats, "tests": dq_test_statuses(work)}


def test_gaps_only_while_logged_in(story: dict) -> None:
    rows = query(
        story["warehouse"],
        """
        select username, started_at, ended_at, gap_seconds, status_name, event_after_type
        from marts.dq_event_gaps order by started_at
        """,
    )
    assert rows == [
        ("ann", t(2, 8, 40), t(2, 8, 50), 600.0, "Available", "STATE_CHANGE"),
        ("bob", t(2, 11, 58), t(2, 13), 3720.0, "Available", "HEART_BEAT"),
    ]  # none for cat: silences after LOGOUT and before a new LOGIN are not data loss


def test_hour_without_objects_while_logged_in_is_flagged(story: dict) -> None:
    rows = query(
        story["warehouse"],
        """
        select hour(hour_start), objects_arrived, records_arrived, events, agents_logged_in,
            is_missing_data
        from marts.dq_hourly_arrivals order by hour_start
        """,
    )
    assert rows == [
        (8, 1, 56, 56, 2, False),  # ann 26 + cat 30 events
        (9, 1, 21, 20, 1, False),  # ann 16, cat 4 (logged out at 09:00); ann's LOGIN again
        (10, 1, 30, 30, 1, False),
        (11, 1, 30, 30, 1, False),
        (12, 0, 0, 0, 1, True),  # bob logged in, nothing arrived
        (13, 1, 30, 30, 1, False),
        (14, 1, 1, 1, 0, False),  # bob's LOGOUT at 14:00 sharp
        (15, 1, 3, 3, 1, False),
        (16, 1, 2, 2, 1, False),
    ]
    sources = query(
        story["warehouse"],
        "select arrival_hour_source, hour(arrival_hour) from staging.int_object_arrivals"
        " where arrival_hour_source <> 'folder' order by 2",
    )
    assert sources == [("earliest_event", 15), ("file_name", 16)]


def test_duplicate_rate_is_exact(story: dict) -> None:
    rows = query(
        story["warehouse"],
        "select event_date, records_received, distinct_events, duplicate_records, duplicate_rate"
        " from marts.dq_duplicates_daily",
    )
    records = story["records"]
    assert records == 173
    assert rows == [(t(2, 0).date(), 173, 172, 1, 1 / 173)]


def test_dq_tests_warn_without_failing(story: dict, sample: dict) -> None:
    assert story["tests"] == {
        "no_event_gaps": "warn",
        "no_missing_hours": "warn",
        "rate_at_most": "pass",
    }
    assert sample["tests"] == dict.fromkeys(DQ_TESTS, "pass")


def test_quality_report_lines(story: dict) -> None:
    assert quality_report(story["warehouse"]) == [
        "data quality: 2 agents had 2 event gaps over 240 s (likely data loss), longest 3,720 s (bob on 2026-11-02 11:58)",
        "data quality: no objects arrived in 1 hour while agents were logged in: 2026-11-02 12:00",
        "data quality: duplicate rate 0.6% (1 of 173 records)",
    ]


def test_generated_sample_has_no_gaps_and_no_missing_hours(sample: dict) -> None:
    warehouse, stats = sample["warehouse"], sample["stats"]
    assert query(warehouse, "select count(*) from marts.dq_event_gaps") == [(0,)]
    assert query(
        warehouse, "select count(*) from marts.dq_hourly_arrivals where is_missing_data"
    ) == [(0,)]
    received = stats.events + stats.duplicates
    assert quality_report(warehouse) == [
        f"data quality: duplicate rate {stats.duplicates / received:.1%} ({stats.duplicates:,} of {received:,} records)"
    ]
