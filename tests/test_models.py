"""The dbt project end to end: hand-built Firehose archives -> ingest CLI -> `dbt build`.

One hand-built scenario is delivered over three nights (late events, duplicates, intervals
left open overnight) and built twice: night by night (incremental runs) and all at once
(full refresh). Exact intervals, contacts and dimension versions are asserted on the
result, and both warehouses must hold identical marts. A small generated sample is also
built night by night and in one go, and checked for the interval invariants.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from helpers import assert_same_marts, dbt_build, deliver, ingest_cli, query, t

from ingest.sample import (
    agent_event,
    contact,
    generate_archive,
    object_key,
    routing_profile,
    to_ms,
    write_object,
)

pytestmark = pytest.mark.e2e


# ------------------------------------------------------------------------ running the tools


# ------------------------------------------------------------------------ the hand-built story

RP_V1 = routing_profile()
RP_V2 = routing_profile(chat=2)


def c1(state: str, at: datetime) -> dict:
    """Agent 1's voice call on day 1 (queued 08:04:50, connected 08:05:10)."""
    connected = t(2, 8, 5, 10) if state in {"CONNECTED", "ENDED"} else None
    return contact(
        "c1", state, at, queued_at=t(2, 8, 4, 50), connected_at=connected, queue="BasicQueue"
    )


def c2(state: str, at: datetime) -> dict:
    """Agent 2's call on day 1: offered, then missed."""
    return contact("c2", state, at, queued_at=t(2, 8, 19, 40))


def c3(state: str, at: datetime) -> dict:
    """Agent 1's chat on day 2 with a hold."""
    connected = None if state == "CONNECTING" else t(3, 10, 0, 5)
    return contact(
        "c3",
        state,
        at,
        channel="CHAT",
        queue="ChatQueue",
        queued_at=t(3, 9, 59, 50),
        connected_at=connected,
    )


def story() -> dict[int, list[list[dict | bytes]]]:
    """Night -> objects -> records, as Firehose delivered them (late and duplicated)."""
    a1 = {"agent": "agent-1", "username": "ann"}
    a2 = {"agent": "agent-2", "username": "bob"}
    avail_0800 = {"status": "Available", "status_start": t(2, 8)}

    login_1 = agent_event("LOGIN", t(2, 8), **a1, **avail_0800, with_previous=False)
    offer_1 = agent_event(
        "STATE_CHANGE", t(2, 8, 5), **a1, **avail_0800, contacts=[c1("INCOMING", t(2, 8, 5))]
    )
    connect_1 = agent_event(
        "STATE_CHANGE",
        t(2, 8, 5, 10),
        **a1,
        **avail_0800,
        contacts=[c1("CONNECTED", t(2, 8, 5, 10))],
        previous_contacts=[c1("INCOMING", t(2, 8, 5))],
    )
    # the same EventId delivered twice, one copy longer: the longer copy is kept
    connect_1_long = json.loads(json.dumps(connect_1))
    connect_1_long["Note"] = "a retried copy with one more field"
    end_1 = agent_event(
        "STATE_CHANGE",
        t(2, 8, 10),
        **a1,
        **avail_0800,
        contacts=[c1("ENDED", t(2, 8, 10))],
        previous_contacts=[c1("CONNECTED", t(2, 8, 5, 10))],
    )
    clear_1 = agent_event(
        "STATE_CHANGE",
        t(2, 8, 11),
        **a1,
        **avail_0800,
        previous_contacts=[c1("ENDED", t(2, 8, 10))],
    )
    brk = agent_event(
        "STATE_CHANGE",
        t(2, 10),
        **a1,
        status="Break",
        previous_status="Available",
        previous_status_start=t(2, 8),
    )
    heartbeat = agent_event("HEART_BEAT", t(2, 10, 2), **a1, status="Break", status_start=t(2, 10))
    lunch = agent_event(
        "STATE_CHANGE",
        t(2, 12),
        **a1,
        status="Lunch",
        previous_status="Break",
        previous_status_start=t(2, 10),
    )
    back = agent_event(
        "STATE_CHANGE",
        t(2, 13),
        **a1,
        status="Available",
        previous_status="Lunch",
        previous_status_start=t(2, 12),
    )
    logout_1 = agent_event(
        "LOGOUT",
        t(2, 17),
        **a1,
        status="Offline",
        previous_status="Available",
        previous_status_start=t(2, 13),
    )
    # after logout, heartbeats go on with a status that never becomes an interval
    after_logout = [
        agent_event("HEART_BEAT", t(2, 17, m), **a1, status="Available", status_start=t(2, 17, m))
        for m in (2, 4, 30)
    ]

    login_2 = agent_event("LOGIN", t(2, 8), **a2, **avail_0800, with_previous=False)
    offer_2 = agent_event(
        "STATE_CHANGE", t(2, 8, 20), **a2, **avail_0800, contacts=[c2("INCOMING", t(2, 8, 20))]
    )
    missed_2 = agent_event(
        "STATE_CHANGE",
        t(2, 8, 20, 20),
        **a2,
        status="Missed",
        previous_status="Available",
        previous_status_start=t(2, 8),
        contacts=[c2("MISSED", t(2, 8, 20, 20))],
        previous_contacts=[c2("INCOMING", t(2, 8, 20))],
    )
    clear_2 = agent_event(
        "STATE_CHANGE",
        t(2, 8, 21),
        **a2,
        status="Missed",
        status_start=t(2, 8, 20, 20),
        previous_contacts=[c2("MISSED", t(2, 8, 20, 20))],
    )
    avail_2 = agent_event(
        "STATE_CHANGE",
        t(2, 8, 22),
        **a2,
        status="Available",
        previous_status="Missed",
        previous_status_start=t(2, 8, 20, 20),
    )
    logout_2 = agent_event(
        "LOGOUT",
        t(2, 16),
        **a2,
        status="Offline",
        previous_status="Available",
        previous_status_start=t(2, 8, 22),
    )

    # day 2: agent 1 logs in again without a previous snapshot; at 09:00 the routing
    # profile's chat slots change and the agent's last name changes
    day2 = {**a1, "routing_profile": RP_V2, "last_name": "Smith"}
    login_1b = agent_event("LOGIN", t(3, 7, 58), **a1, status="Available", with_previous=False)
    brk_2 = agent_event(
        "STATE_CHANGE",
        t(3, 9),
        **day2,
        status="Break",
        previous_status="Available",
        previous_status_start=t(3, 7, 58),
    )
    avail_0930 = {"status": "Available", "status_start": t(3, 9, 30)}
    back_2 = agent_event(
        "STATE_CHANGE",
        t(3, 9, 30),
        **day2,
        status="Available",
        previous_status="Break",
        previous_status_start=t(3, 9),
    )
    chat = [
        (t(3, 10), [c3("CONNECTING", t(3, 10))], []),
        (t(3, 10, 0, 5), [c3("CONNECTED", t(3, 10, 0, 5))], [c3("CONNECTING", t(3, 10))]),
        (
            t(3, 10, 5),
            [c3("CONNECTED_ONHOLD", t(3, 10, 5))],
            [c3("CONNECTED", t(3, 10, 0, 5))],
        ),
        (t(3, 10, 6), [c3("CONNECTED", t(3, 10, 6))], [c3("CONNECTED_ONHOLD", t(3, 10, 5))]),
        (t(3, 10, 10), [c3("ENDED", t(3, 10, 10))], [c3("CONNECTED", t(3, 10, 6))]),
    ]
    chat_events = [
        agent_event("STATE_CHANGE", at, **day2, **avail_0930, contacts=cur, previous_contacts=prev)
        for at, cur, prev in chat
    ]
    clear_3 = agent_event(
        "STATE_CHANGE",
        t(3, 10, 12),
        **day2,
        **avail_0930,
        previous_contacts=[c3("ENDED", t(3, 10, 10))],
    )
    logout_1b = agent_event(
        "LOGOUT",
        t(3, 18),
        **day2,
        status="Offline",
        previous_status="Available",
        previous_status_start=t(3, 9, 30),
    )

    # day 4: agent 2 logs in again without a previous snapshot; the Offline interval left
    # open since day 1 is older than the look-back window and must still be closed
    day4 = {**a2, "routing_profile": RP_V2}
    login_2b = agent_event("LOGIN", t(5, 8), **day4, status="Available", with_previous=False)
    logout_2b = agent_event(
        "LOGOUT",
        t(5, 9),
        **day4,
        status="Offline",
        previous_status="Available",
        previous_status_start=t(5, 8),
    )

    return {
        1: [
            # out of order inside the night: the afternoon arrives before the morning
            [lunch, back, brk, heartbeat],
            [login_1, offer_1, connect_1, end_1, clear_1],
            [connect_1_long, login_2, offer_2, missed_2, clear_2, avail_2, logout_2],
        ],
        2: [
            # yesterday's logout arrives a night late, with a duplicate of yesterday's event
            [logout_1, *after_logout, clear_1],
            [login_1b, brk_2, back_2, *chat_events, logout_1b],
        ],
        3: [
            # the chat's clearing event arrives a night late
            [clear_3, clear_3],
            [login_2b, logout_2b],
        ],
    }


def write_story(archive: Path) -> dict[int, list[Path]]:
    """Write the story's objects; night -> object paths."""
    nights: dict[int, list[Path]] = {}
    for night, objects in story().items():
        arrival = to_ms(t(1 + night, 23))
        for i, records in enumerate(objects):
            path = archive / object_key(arrival + i * 1000, f"night{night}-object{i}")
            write_object(path, records, gzip_object=i % 2 == 0)
            nights.setdefault(night, []).append(path)
    return nights


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The story built night by night (incremental) and all at once (full refresh)."""
    work = tmp_path_factory.mktemp("story")
    archive = work / "archive"
    nights = write_story(archive)

    full = work / "full.duckdb"
    ingest_cli(archive, full)
    dbt_build(full, work, "--full-refresh")

    nightly = work / "nightly.duckdb"
    delivered = work / "delivered"
    snapshots = {}
    for night in sorted(nights):
        deliver(nights[night], archive, delivered)
        ingest_cli(delivered, nightly)
        dbt_build(nightly, work)
        if night == 1:
            snapshots[1] = work / "after-night-1.duckdb"
            shutil.copy(nightly, snapshots[1])
    yield {"full": full, "nightly": nightly, "after_night_1": snapshots[1]}


# ------------------------------------------------------------------------ expectations

EXPECTED_INTERVALS = [
    ("agent-1", "Available", t(2, 8), t(2, 10), 7200.0),
    ("agent-1", "Break", t(2, 10), t(2, 12), 7200.0),
    ("agent-1", "Lunch", t(2, 12), t(2, 13), 3600.0),
    ("agent-1", "Available", t(2, 13), t(2, 17), 14400.0),
    ("agent-1", "Offline", t(2, 17), t(3, 7, 58), 53880.0),
    ("agent-1", "Available", t(3, 7, 58), t(3, 9), 3720.0),
    ("agent-1", "Break", t(3, 9), t(3, 9, 30), 1800.0),
    ("agent-1", "Available", t(3, 9, 30), t(3, 18), 30600.0),
    ("agent-1", "Offline", t(3, 18), None, None),
    ("agent-2", "Available", t(2, 8), t(2, 8, 20, 20), 1220.0),
    ("agent-2", "Missed", t(2, 8, 20, 20), t(2, 8, 22), 100.0),
    ("agent-2", "Available", t(2, 8, 22), t(2, 16), 27480.0),
    ("agent-2", "Offline", t(2, 16), t(5, 8), 230400.0),
    ("agent-2", "Available", t(5, 8), t(5, 9), 3600.0),
    ("agent-2", "Offline", t(5, 9), None, None),
]

INTERVALS_SQL = """
    select regexp_extract(agent_arn, '[^/]+$'), status_name, started_at, ended_at,
        duration_seconds
    from marts.fct_agent_status
    order by agent_arn, started_at
"""


def test_status_intervals_are_exact(built: dict[str, Path]) -> None:
    assert query(built["full"], INTERVALS_SQL) == EXPECTED_INTERVALS


def test_interval_attributes(built: dict[str, Path]) -> None:
    rows = query(
        built["full"],
        """
        select f.username, f.status_type, f.routing_profile_arn = r.routing_profile_arn,
            r.version_number, a.version_number, a.last_name
        from marts.fct_agent_status f
        join marts.dim_routing_profile r using (routing_profile_key)
        join marts.dim_agent a using (agent_key)
        where f.agent_arn like '%/agent-1' and f.started_at in (?, ?, ?)
        order by f.started_at
        """,
        [t(2, 10), t(3, 7, 58), t(3, 9)],
    )
    assert rows == [
        ("ann", "CUSTOM", True, 1, 1, "Agent"),
        ("ann", "ROUTABLE", True, 1, 1, "Agent"),
        ("ann", "CUSTOM", True, 2, 2, "Smith"),
    ]


def test_night_one_left_the_afternoon_open_and_night_two_closed_it(
    built: dict[str, Path],
) -> None:
    night1 = query(built["after_night_1"], INTERVALS_SQL)
    assert night1[1:4] == [
        ("agent-1", "Break", t(2, 10), t(2, 12), 7200.0),
        ("agent-1", "Lunch", t(2, 12), t(2, 13), 3600.0),
        ("agent-1", "Available", t(2, 13), None, None),
    ]
    assert query(built["nightly"], INTERVALS_SQL) == EXPECTED_INTERVALS


def test_contacts_are_exact(built: dict[str, Path]) -> None:
    rows = query(
        built["full"],
        """
        select contact_id, channel, initiation_method, q.queue_name, offered_at, connected_at,
            ended_at, cleared_at, final_state, ring_seconds, talk_seconds, hold_seconds,
            after_contact_work_seconds, handle_seconds
        from marts.fct_agent_contacts
        left join marts.dim_queue q using (queue_arn)
        order by contact_id
        """,
    )
    assert rows == [
        (
            "c1",
            "VOICE",
            "INBOUND",
            "BasicQueue",
            t(2, 8, 5),
            t(2, 8, 5, 10),
            t(2, 8, 10),
            t(2, 8, 11),
            "ENDED",
            10.0,
            290.0,
            0.0,
            60.0,
            350.0,
        ),
        (
            "c2",
            "VOICE",
            "INBOUND",
            "BasicQueue",
            t(2, 8, 20),
            None,
            None,
            t(2, 8, 21),
            "MISSED",
            20.0,
            None,
            0.0,
            None,
            None,
        ),
        (
            "c3",
            "CHAT",
            "INBOUND",
            "ChatQueue",
            t(3, 10),
            t(3, 10, 0, 5),
            t(3, 10, 10),
            t(3, 10, 12),
            "ENDED",
            5.0,
            595.0,
            60.0,
            120.0,
            715.0,
        ),
    ]


def test_dimension_versions(built: dict[str, Path]) -> None:
    profiles = query(
        built["full"],
        """
        select routing_profile_name, version_number, voice_max_slots, chat_max_slots,
            task_max_slots, len(inbound_queue_arns), valid_from, valid_to, is_current
        from marts.dim_routing_profile order by valid_from
        """,
    )
    assert profiles == [
        ("Basic Routing Profile", 1, 1, 3, 1, 3, t(2, 8), t(3, 9), False),
        ("Basic Routing Profile", 2, 1, 2, 1, 3, t(3, 9), None, True),
    ]
    agents = query(
        built["full"],
        """
        select agent_id, version_number, username, last_name, valid_from, valid_to, is_current
        from marts.dim_agent order by agent_id, version_number
        """,
    )
    assert agents == [
        ("agent-1", 1, "ann", "Agent", t(2, 8), t(3, 9), False),
        ("agent-1", 2, "ann", "Smith", t(3, 9), None, True),
        ("agent-2", 1, "bob", "Agent", t(2, 8), None, True),
    ]
    queues = query(
        built["full"],
        "select queue_name, is_agent_queue from marts.dim_queue order by queue_name nulls last",
    )
    assert queues == [
        ("BasicQueue", False),
        ("ChatQueue", False),
        ("OutboundQueue", False),
        ("TaskQueue", False),
        (None, True),
        (None, True),
    ]


def test_daily_seconds_split_at_midnight(built: dict[str, Path]) -> None:
    rows = query(
        built["full"],
        """
        select activity_date, status_name, seconds from marts.agg_agent_status_daily
        where agent_arn like '%/agent-1' order by activity_date, status_name
        """,
    )
    assert rows == [
        (date(2026, 11, 2), "Available", 7200.0 + 14400.0),
        (date(2026, 11, 2), "Break", 7200.0),
        (date(2026, 11, 2), "Lunch", 3600.0),
        (date(2026, 11, 2), "Offline", 25200.0),
        (date(2026, 11, 3), "Available", 3720.0 + 30600.0),
        (date(2026, 11, 3), "Break", 1800.0),
        # 00:00 -> 07:58, then the open Offline from 18:00 counts up to midnight
        (date(2026, 11, 3), "Offline", 28680.0 + 21600.0),
        # ... and on up to the data horizon, agent 2's logout on day 4 at 09:00
        (date(2026, 11, 4), "Offline", 86400.0),
        (date(2026, 11, 5), "Offline", 9 * 3600.0),
    ]
    offline_2 = query(
        built["full"],
        """
        select activity_date, seconds from marts.agg_agent_status_daily
        where agent_arn like '%/agent-2' and status_name = 'Offline' order by activity_date
        """,
    )
    assert offline_2 == [
        (date(2026, 11, 2), 28800.0),
        (date(2026, 11, 3), 86400.0),
        (date(2026, 11, 4), 86400.0),
        (date(2026, 11, 5), 28800.0),
    ]


def test_duplicates_keep_the_longest_copy(built: dict[str, Path]) -> None:
    rows = query(
        built["full"],
        """
        select e.copies_received, r.record->>'Note'
        from staging.stg_agent_events e
        join raw.agent_events r using (source_object, byte_offset)
        where e.copies_received > 1 order by e.event_timestamp
        """,
    )
    assert rows == [
        (2, "a retried copy with one more field"),
        (2, None),
        (2, None),
    ]
    children = query(
        built["full"],
        "select count(*) from staging.stg_agent_event_contacts where contact_id = 'c1'",
    )
    assert children == [(6,)]  # 1 + 2 + 2 + 1 snapshots list it, never doubled by copies


def test_full_refresh_equals_nightly_runs(built: dict[str, Path]) -> None:
    assert_same_marts(built["full"], built["nightly"])


# ------------------------------------------------------------------------ the generated sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated sample archive built in one go and over three nights."""
    work = tmp_path_factory.mktemp("sample")
    archive = work / "archive"
    generate_archive(archive, agents=4, days=2, seed=11)
    objects = sorted(p for p in archive.rglob("*") if p.is_file())

    full = work / "full.duckdb"
    ingest_cli(archive, full)
    dbt_build(full, work)

    nightly = work / "nightly.duckdb"
    delivered = work / "delivered"
    cuts = ["2026/11/02/12", "2026/11/03/12", "9999"]
    done: set[Path] = set()
    for cut in cuts:
        batch = [p for p in objects if p not in done and str(p.relative_to(archive)) < cut]
        done.update(batch)
        deliver(batch, archive, delivered)
        ingest_cli(delivered, nightly)
        dbt_build(nightly, work)
    return {"full": full, "nightly": nightly}


def test_sample_intervals_neither_overlap_nor_leave_gaps(sample: dict[str, Path]) -> None:
    bad = query(
        sample["full"],
        """
        select agent_arn, started_at, ended_at, next_start from (
            select *, lead(started_at) over (partition by agent_arn order by started_at)
                as next_start
            from marts.fct_agent_status
        )
        where ended_at is distinct from next_start or ended_at < started_at
        """,
    )
    assert bad == []
    counts = query(
        sample["full"],
        "select count(*), count(*) filter (where ended_at is null) from marts.fct_agent_status",
    )
    total, open_ = counts[0]
    assert total > 20
    assert open_ <= 4  # at most one open interval per agent


def test_sample_daily_seconds_add_up(sample: dict[str, Path]) -> None:
    rows = query(
        sample["full"],
        """
        select
            (select sum(seconds) from marts.agg_agent_status_daily),
            -- open intervals count up to the latest event time
            (select sum(epoch(coalesce(ended_at, (select max(event_timestamp)
                    from staging.stg_agent_events)) - started_at))
             from marts.fct_agent_status)
        """,
    )
    daily, intervals = rows[0]
    assert daily == pytest.approx(intervals, abs=0.01)
    assert intervals > 0


def test_sample_nightly_equals_full(sample: dict[str, Path]) -> None:
    assert_same_marts(sample["full"], sample["nightly"])


def test_heartbeats_never_create_intervals(built: dict[str, Path]) -> None:
    late = query(
        built["full"],
        "select count(*) from marts.fct_agent_status where started_at > ? and started_at < ?",
        [t(2, 17), t(2, 18)],
    )
    assert late == [(0,)]  # heartbeats showing new statuses ran until 17:30
