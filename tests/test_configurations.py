"""Routing-profile configurations: stored once per distinct content, keyed by its MD5."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from helpers import (
    assert_same_marts,
    counts,
    dbt_build,
    deliver,
    ingest,
    ingest_cli,
    query,
    real_event,
    write_object,
)

from ingest.flattening import configuration_key
from ingest.sample import generate_archive

HOUR = "2026/11/02/08"
KEYS = (
    "select event_id, current_routing_profile_configuration_key,"
    " previous_routing_profile_configuration_key from raw.agent_events order by all"
)
CONFIGURATIONS = (
    "select routing_profile_configuration_key, routing_profile_arn, routing_profile_name"
    " from raw.routing_profile_configurations order by all"
)
CHILDREN = (
    "select * from raw.agent_event_queues order by all",
    "select * from raw.agent_event_concurrency order by all",
)


def sample_event(event_id: str, at: str, max_voice: int = 1, available_voice: int = 1) -> dict:
    """AWS's sample-1 record (two channels, three queues) with a new id and time and VOICE slots."""
    record = copy.deepcopy(real_event("sample-1"))
    record.update(EventId=event_id, EventTimestamp=at)
    for snap in ("CurrentAgentSnapshot", "PreviousAgentSnapshot"):
        for slot in record[snap]["Configuration"]["RoutingProfile"]["Concurrency"]:
            if slot["Channel"] == "VOICE":
                slot.update(MaximumSlots=max_voice, AvailableSlots=available_voice)
    return record


def stored(wh: Path) -> list[list[tuple]]:
    """The events' keys, the configurations and their child rows."""
    return [query(wh, sql) for sql in (KEYS, CONFIGURATIONS, *CHILDREN)]


def test_a_configuration_seen_in_many_events_is_stored_once(tmp_path: Path) -> None:
    src, wh = tmp_path / "src", tmp_path / "wh.duckdb"
    for n in range(3):  # three objects, three batches: the key is found again in each
        write_object(
            src / HOUR / f"o{n}.gz",
            [sample_event(f"e{n}-{i}", f"2026-11-02T08:0{n}:{i:02}.000Z") for i in range(20)],
        )
    summary = ingest(src, wh, batch_objects=1)
    assert summary.ok and summary.records == 60
    assert query(
        wh,
        "select count(distinct current_routing_profile_configuration_key),"
        " count(distinct previous_routing_profile_configuration_key),"
        " count(current_routing_profile_configuration_key) from raw.agent_events",
    ) == [(1, 1, 60)]
    tally = counts(wh)
    assert tally["routing_profile_configurations"] == 1
    assert tally["agent_event_queues"] == 3  # two inbound, one default outbound
    assert tally["agent_event_concurrency"] == 2  # VOICE and CHAT
    assert query(
        wh,
        "select first_source_object similar to '.*/o[0-2][.]gz', first_byte_offset"
        " from raw.routing_profile_configurations",
    ) == [(True, 0)]  # the object read first (reads run in parallel)


def test_changed_slots_make_a_new_key(tmp_path: Path) -> None:
    src, wh = tmp_path / "src", tmp_path / "wh.duckdb"
    write_object(
        src / HOUR / "a.gz",
        [
            sample_event("one", "2026-11-02T08:00:00.000Z"),
            sample_event("max", "2026-11-02T08:00:01.000Z", max_voice=2, available_voice=1),
            sample_event("busy", "2026-11-02T08:00:02.000Z", available_voice=0),
            sample_event("one-again", "2026-11-02T08:00:03.000Z"),
        ],
    )
    assert ingest(src, wh).ok
    keys = dict(
        query(
            wh,
            "select event_id, current_routing_profile_configuration_key from raw.agent_events",
        )
    )
    assert keys["one"] == keys["one-again"]
    assert len({keys["one"], keys["max"], keys["busy"]}) == 3
    assert query(
        wh,
        "select e.event_id, c.available_slots, c.maximum_slots from raw.agent_events e"
        " join raw.agent_event_concurrency c on c.routing_profile_configuration_key"
        " = e.current_routing_profile_configuration_key where c.channel = 'VOICE'"
        " order by e.event_id",
    ) == [("busy", 0, 1), ("max", 1, 2), ("one", 1, 1), ("one-again", 1, 1)]
    assert counts(wh)["routing_profile_configurations"] == 3


def test_the_key_is_the_md5_of_the_canonical_json_in_every_run(tmp_path: Path) -> None:
    record = real_event("sample-1")
    profile = record["CurrentAgentSnapshot"]["Configuration"]["RoutingProfile"]
    canonical = [
        profile["ARN"],
        profile["Name"],
        [[c["Channel"], c["AvailableSlots"], c["MaximumSlots"]] for c in profile["Concurrency"]],
        [
            profile["DefaultOutboundQueue"]["ARN"],
            profile["DefaultOutboundQueue"]["Name"],
            profile["DefaultOutboundQueue"]["Channels"],
        ],
        [[q["ARN"], q["Name"], q["Channels"]] for q in profile["InboundQueues"]],
    ]
    text = json.dumps(canonical, separators=(",", ":")).encode()
    expected = hashlib.md5(text, usedforsecurity=False).hexdigest()
    assert configuration_key(profile) == expected

    write_object(tmp_path / "src" / HOUR / "a.json", [record], gz=False)
    runs = []
    for n in range(2):  # two warehouses, two runs: the same keys
        wh = tmp_path / f"wh{n}.duckdb"
        assert ingest(tmp_path / "src", wh).ok
        runs.append(stored(wh))
    assert runs[0] == runs[1]
    assert runs[0][0][0][1] == expected


def test_a_duplicate_object_or_a_rerun_adds_no_configuration(tmp_path: Path) -> None:
    src, wh = tmp_path / "src", tmp_path / "wh.duckdb"
    records = [sample_event(f"e{i}", f"2026-11-02T08:00:{i:02}.000Z", max_voice=i) for i in (1, 2)]
    write_object(src / HOUR / "a.gz", records)
    assert ingest(src, wh).ok
    before = stored(wh)
    assert len(before[1]) == 2

    assert ingest(src, wh).records == 0  # a re-run: nothing new
    assert stored(wh) == before
    # Firehose delivers the same records again, in another object and in the same one twice
    write_object(src / "2026/11/02/09" / "again.gz", records + records)
    assert ingest(src, wh).records == 4
    after = stored(wh)
    assert after[1:] == before[1:]
    assert counts(wh)["agent_events"] == 6


# ------------------------------------------------------------------ warehouses of the old layout

OLD_LAYOUT = """
create table raw.old_queues as
select e.event_id, s.snapshot, q.queue_arn, q.queue_name, q.channels, q.is_default_outbound,
       e.source_object, e.byte_offset
from raw.agent_events e
cross join (values ('current'), ('previous')) s(snapshot)
join raw.agent_event_queues q on q.routing_profile_configuration_key = case s.snapshot
    when 'current' then e.current_routing_profile_configuration_key
    else e.previous_routing_profile_configuration_key end;
create table raw.old_concurrency as
select e.event_id, s.snapshot, c.channel, c.available_slots, c.maximum_slots,
       e.source_object, e.byte_offset
from raw.agent_events e
cross join (values ('current'), ('previous')) s(snapshot)
join raw.agent_event_concurrency c on c.routing_profile_configuration_key = case s.snapshot
    when 'current' then e.current_routing_profile_configuration_key
    else e.previous_routing_profile_configuration_key end;
drop table raw.agent_event_queues;
drop table raw.agent_event_concurrency;
drop table raw.routing_profile_configurations;
alter table raw.old_queues rename to agent_event_queues;
alter table raw.old_concurrency rename to agent_event_concurrency;
alter table raw.agent_events drop column current_routing_profile_configuration_key;
alter table raw.agent_events drop column previous_routing_profile_configuration_key;
"""


def to_old_layout(wh: Path) -> None:
    """Rewrite a warehouse's raw tables (and stg_agent_events, if built) as before issue 13."""
    with duckdb.connect(str(wh)) as con:
        con.execute(OLD_LAYOUT)
        built = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'staging'"
            " and table_name = 'stg_agent_events'"
        ).fetchall()
        if built[0][0]:
            for snap in ("current", "previous"):
                con.execute(
                    "alter table staging.stg_agent_events"
                    f" drop column {snap}_routing_profile_configuration_key"
                )
        columns = con.execute(
            "select column_name from duckdb_columns() where schema_name = 'raw'"
            " and table_name = 'agent_event_queues' order by column_index"
        ).fetchall()
    assert [c[0] for c in columns][:2] == ["event_id", "snapshot"]


def test_an_old_layout_warehouse_is_migrated_when_the_ingest_opens_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_object(
        src / HOUR / "a.gz",
        [
            sample_event("one", "2026-11-02T08:00:00.000Z"),
            sample_event("two", "2026-11-02T08:00:01.000Z", max_voice=3),
            sample_event("three", "2026-11-02T08:00:02.000Z"),
        ],
    )
    fresh, old = tmp_path / "fresh.duckdb", tmp_path / "old.duckdb"
    assert ingest(src, fresh).ok
    shutil.copy(fresh, old)
    to_old_layout(old)
    assert "routing_profile_configurations" not in str(
        query(old, "select table_name from duckdb_tables() where schema_name = 'raw'")
    )

    again = ingest(src, old)  # nothing new to load: opening the warehouse migrates it
    assert again.records == 0
    assert stored(old) == stored(fresh)
    assert query(old, "select count(*) from raw.agent_events") == [(3,)]


@pytest.mark.e2e
def test_an_old_layout_warehouse_gives_the_same_marts_after_its_next_night(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "archive"
    generate_archive(archive, agents=3, days=1, seed=5)
    objects = sorted(p for p in archive.rglob("*") if p.is_file())
    half = len(objects) // 2

    full = tmp_path / "full.duckdb"
    ingest_cli(archive, full)
    dbt_build(full, tmp_path)

    migrated, delivered = tmp_path / "migrated.duckdb", tmp_path / "delivered"
    deliver(objects[:half], archive, delivered)
    ingest_cli(delivered, migrated)
    dbt_build(migrated, tmp_path)
    to_old_layout(migrated)  # a warehouse built before issue 13, with its staging and marts
    deliver(objects[half:], archive, delivered)
    ingest_cli(delivered, migrated)
    dbt_build(migrated, tmp_path)

    assert stored(migrated)[1:] == stored(full)[1:]
    assert sorted(query(migrated, KEYS)) == sorted(query(full, KEYS))
    assert_same_marts(full, migrated)
