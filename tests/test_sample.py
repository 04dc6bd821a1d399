"""Tests of the deterministic sample-archive generator (ingest/sample.py)."""

from __future__ import annotations

import gzip
import itertools
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.sample import (
    EVENTS_PER_AGENT_DAY,
    HEARTBEAT_MS,
    INSTANCE_ARN,
    STATUS_TYPES,
    SampleStats,
    agent_event,
    contact,
    events_for_target,
    generate_archive,
    routing_profile,
    to_ms,
    write_object,
)

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
KEY = re.compile(
    r"^(\d{4})/(\d{2})/(\d{2})/(\d{2})/connect-agent-events-1-"
    r"(\d{4})-(\d{2})-(\d{2})-(\d{2})-\d{2}-\d{2}-[0-9a-f-]{36}\.gz$"
)
TOP_KEYS = {
    "AWSAccountId",
    "AgentARN",
    "CurrentAgentSnapshot",
    "EventId",
    "EventTimestamp",
    "EventType",
    "InstanceARN",
    "Version",
}
STATUS_FIELDS = {"ARN", "Name", "StartTimestamp"}  # and Type, except in older records
SNAPSHOT_KEYS = {"AgentStatus", "NextAgentStatus", "Configuration", "Contacts"}
CONTACT_KEYS = {
    "Channel",
    "ConnectedToAgentTimestamp",
    "ContactId",
    "InitialContactId",
    "InitiationMethod",
    "Queue",
    "QueueTimestamp",
    "State",
    "StateStartTimestamp",
}
NEXT_STATES = {
    None: {"CONNECTING", "INCOMING"},
    "INCOMING": {"CONNECTING", "CONNECTED", "MISSED"},
    "CONNECTING": {"CONNECTED", "MISSED"},
    "CONNECTED": {"CONNECTED_ONHOLD", "ENDED"},
    "CONNECTED_ONHOLD": {"CONNECTED", "ENDED"},
    "ENDED": {"CLEARED"},
    "MISSED": {"CLEARED"},
}

Record = tuple[str, bytes, dict[str, Any]]  # (object key, raw bytes, parsed)


def split_records(data: bytes) -> list[bytes]:
    """Split back-to-back JSON records with a strict decoder."""
    text, decoder, out, pos = data.decode(), json.JSONDecoder(), [], 0
    while pos < len(text):
        _, end = decoder.raw_decode(text, pos)
        out.append(text[pos:end].encode())
        pos = end
        while pos < len(text) and text[pos] in " \r\n\t":
            pos += 1
    return out


def read_archive(root: Path) -> list[Record]:
    """Every record of an archive with its object key."""
    records = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        assert raw[:2] == b"\x1f\x8b"
        for chunk in split_records(gzip.decompress(raw)):
            records.append((path.relative_to(root).as_posix(), chunk, json.loads(chunk)))
    return records


def by_agent(records: list[Record]) -> dict[str, list[dict[str, Any]]]:
    """Distinct events per agent, in event order."""
    seen: set[str] = set()
    agents: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, _, rec in records:
        if rec["EventId"] not in seen:
            seen.add(rec["EventId"])
            agents[rec["AgentARN"]].append(rec)
    for events in agents.values():
        events.sort(key=lambda r: r["EventTimestamp"])
    return agents


def ms(ts: str) -> int:
    """Epoch ms of a record timestamp."""
    return to_ms(datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ"))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[SampleStats, list[Record]]:
    """A small generated archive in the default format."""
    root = tmp_path_factory.mktemp("archive")
    stats = generate_archive(root, agents=10, days=2, seed=7)
    return stats, read_archive(root)


@pytest.fixture(scope="module")
def agents(archive: tuple[SampleStats, list[Record]]) -> dict[str, list[dict[str, Any]]]:
    """The archive's distinct events per agent."""
    return by_agent(archive[1])


def test_same_seed_gives_byte_identical_archive(tmp_path: Path) -> None:
    """Two runs with the same seed write the same keys and bytes; another seed differs."""

    def files(root: Path) -> dict[str, bytes]:
        """Relative path -> bytes."""
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.gz")}

    first = generate_archive(tmp_path / "a", agents=3, days=1, seed=11)
    second = generate_archive(tmp_path / "b", agents=3, days=1, seed=11)
    generate_archive(tmp_path / "c", agents=3, days=1, seed=12)
    assert first == second
    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert files(tmp_path / "a") != files(tmp_path / "c")


def test_stats_match_archive(archive: tuple[SampleStats, list[Record]]) -> None:
    """SampleStats counts objects, distinct events and duplicate deliveries."""
    stats, records = archive
    assert stats.events + stats.duplicates == len(records)
    assert stats.events == len({r["EventId"] for _, _, r in records})
    assert stats.objects == len({key for key, _, _ in records})
    assert (stats.agents, stats.days) == (10, 2)


def test_records_have_the_real_shape(archive: tuple[SampleStats, list[Record]]) -> None:
    """Every record has the published field names, formats and nesting."""
    for _, _, rec in archive[1]:
        assert TOP_KEYS <= rec.keys() <= TOP_KEYS | {"PreviousAgentSnapshot"}
        assert rec["Version"] == "2017-10-01"
        assert rec["InstanceARN"] == INSTANCE_ARN
        assert rec["AgentARN"].startswith(INSTANCE_ARN + "/agent/")
        assert UUID.match(rec["EventId"]) and TS.match(rec["EventTimestamp"])
        assert rec["EventType"] in {"LOGIN", "LOGOUT", "STATE_CHANGE", "HEART_BEAT"}
        for name in ("CurrentAgentSnapshot", "PreviousAgentSnapshot"):
            if name in rec:
                check_snapshot(rec[name], rec["AgentARN"].rsplit("/", 1)[1])


def check_snapshot(snap: dict[str, Any], agent_id: str) -> None:
    """One snapshot has the published shape."""
    assert set(snap) == SNAPSHOT_KEYS
    status = snap["AgentStatus"]
    assert {"ARN", "Name", "StartTimestamp"} <= set(status) <= {*STATUS_FIELDS, "Type"}
    assert status.get("Type", STATUS_TYPES[status["Name"]]) == STATUS_TYPES[status["Name"]]
    assert TS.match(status["StartTimestamp"])
    assert "/agent-state/" in status["ARN"]
    if snap["NextAgentStatus"] is not None:
        assert set(snap["NextAgentStatus"]) == {"ARN", "Name", "EnqueuedTimestamp"}
    config = snap["Configuration"]
    assert set(config) == {
        "AgentHierarchyGroups",
        "FirstName",
        "LastName",
        "RoutingProfile",
        "Username",
    }
    profile = config["RoutingProfile"]
    assert set(profile) == {"ARN", "Concurrency", "DefaultOutboundQueue", "InboundQueues", "Name"}
    assert set(profile["DefaultOutboundQueue"]) == {"ARN", "Name", "Channels"}
    own = [q for q in profile["InboundQueues"] if q["Name"] is None]
    assert [q["ARN"] for q in own] == [f"{INSTANCE_ARN}/queue/agent/{agent_id}"]
    for item in snap["Contacts"]:
        assert set(item) == CONTACT_KEYS and set(item["Queue"]) == {"ARN", "Name"}


def test_keys_are_firehose_keys_by_arrival(archive: tuple[SampleStats, list[Record]]) -> None:
    """Keys follow the Firehose layout; events cross hour folders; default has no delimiter."""
    crossing = 0
    for key, raw, rec in archive[1]:
        match = KEY.match(key)
        assert match, key
        assert match.groups()[:4] == match.groups()[4:]
        folder = datetime(*map(int, match.groups()[:4]), tzinfo=UTC)
        event = datetime.fromtimestamp(ms(rec["EventTimestamp"]) / 1000, UTC)
        assert event < folder + timedelta(hours=1, minutes=5)  # arrival >= event time
        crossing += event < folder
        assert not raw.endswith(b"\n")
    assert crossing > 0


def test_previous_snapshot_is_prior_current(agents: dict[str, list[dict[str, Any]]]) -> None:
    """Each event's PreviousAgentSnapshot equals the agent's prior CurrentAgentSnapshot."""
    checked = 0
    for events in agents.values():
        for prior, event in itertools.pairwise(events):
            if "PreviousAgentSnapshot" in event:
                assert event["PreviousAgentSnapshot"] == prior["CurrentAgentSnapshot"]
                checked += event["EventType"] == "STATE_CHANGE"
    assert checked > 1000


def test_heartbeats_only_after_silence(agents: dict[str, list[dict[str, Any]]]) -> None:
    """HEART_BEAT comes after >= 120 s of silence; while online no gap exceeds ~120 s."""
    beats = 0
    for events in agents.values():
        logged_out = False
        for prior, event in itertools.pairwise(events):
            after_logout = logged_out or prior["EventType"] == "LOGOUT"
            logged_out = after_logout and event["EventType"] != "LOGIN"
            gap = ms(event["EventTimestamp"]) - ms(prior["EventTimestamp"])
            assert gap > 0
            if event["EventType"] == "HEART_BEAT":
                beats += 1
                assert gap >= HEARTBEAT_MS
                assert event["CurrentAgentSnapshot"] == prior["CurrentAgentSnapshot"]
            if prior["CurrentAgentSnapshot"]["AgentStatus"]["Name"] != "Offline" and not logged_out:
                assert gap <= HEARTBEAT_MS + 1000
    assert beats > 100


def test_heartbeats_continue_after_logout(agents: dict[str, list[dict[str, Any]]]) -> None:
    """Heartbeats go on for a while after LOGOUT."""
    after = 0
    for events in agents.values():
        for prior, event in itertools.pairwise(events):
            after += prior["EventType"] == "LOGOUT" and event["EventType"] == "HEART_BEAT"
    assert after > 5


def test_duplicates_are_identical_bytes_in_later_objects(
    archive: tuple[SampleStats, list[Record]],
) -> None:
    """About 0.5% of records arrive twice, byte-identical, in another object."""
    stats, records = archive
    copies: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
    for key, raw, rec in records:
        copies[rec["EventId"]].append((key, raw))
    dups = [c for c in copies.values() if len(c) > 1]
    assert len(dups) == stats.duplicates
    assert 0.002 < stats.duplicates / stats.events < 0.01
    for (key1, raw1), (key2, raw2) in dups:
        assert raw1 == raw2 and key1 != key2


def test_contacts_follow_legal_state_orders(agents: dict[str, list[dict[str, Any]]]) -> None:
    """Every contact goes CONNECTING/INCOMING -> ... -> ENDED/MISSED -> cleared."""
    finals: Counter[str] = Counter()
    methods: Counter[str] = Counter()
    for events in agents.values():
        state: dict[str, str] = {}
        for event in events:
            listed = {c["ContactId"]: c for c in event["CurrentAgentSnapshot"]["Contacts"]}
            for cid in list(state):
                if cid not in listed:
                    assert "CLEARED" in NEXT_STATES[state.pop(cid)]
            for cid, item in listed.items():
                old = state.get(cid)
                if item["State"] != old:
                    assert item["State"] in NEXT_STATES[old], (old, item["State"])
                    finals[item["State"]] += item["State"] in {"ENDED", "MISSED"}
                state[cid] = item["State"]
                check_contact(item)
                methods[item["InitiationMethod"]] += old is None
        assert not state
    assert finals["ENDED"] > 100 and finals["MISSED"] > 0
    assert {"INBOUND", "OUTBOUND", "TRANSFER", "CALLBACK", "API"} <= set(methods)


def check_contact(item: dict[str, Any]) -> None:
    """Contact fields agree with its state and initiation method."""
    connected = item["ConnectedToAgentTimestamp"]
    assert (connected is None) == (item["State"] in {"CONNECTING", "INCOMING", "MISSED"})
    assert (item["QueueTimestamp"] is None) == (item["InitiationMethod"] == "OUTBOUND")
    assert (item["InitialContactId"] is not None) == (item["InitiationMethod"] == "TRANSFER")


def test_available_slots_match_contacts(archive: tuple[SampleStats, list[Record]]) -> None:
    """AvailableSlots = MaximumSlots - contacts of that channel, never negative; one channel at once."""
    for _, _, rec in archive[1]:
        for name in ("CurrentAgentSnapshot", "PreviousAgentSnapshot"):
            snap = rec.get(name)
            if snap is None:
                continue
            used = Counter(c["Channel"] for c in snap["Contacts"])
            assert len(used) <= 1
            slots = snap["Configuration"]["RoutingProfile"]["Concurrency"]
            assert set(used) <= {s["Channel"] for s in slots}
            for slot in slots:
                assert slot["AvailableSlots"] == slot["MaximumSlots"] - used[slot["Channel"]]
                assert slot["AvailableSlots"] >= 0


def test_statuses_and_next_status(agents: dict[str, list[dict[str, Any]]]) -> None:
    """StartTimestamp is stable within a status; a custom status starts only with no contacts."""
    deferred = 0
    names: Counter[str] = Counter()
    for events in agents.values():
        for prior, event in itertools.pairwise(events):
            before = prior["CurrentAgentSnapshot"]
            now = event["CurrentAgentSnapshot"]
            names[now["AgentStatus"]["Name"]] += 1
            if now["AgentStatus"]["Name"] == before["AgentStatus"]["Name"]:
                assert now["AgentStatus"] == before["AgentStatus"]
            elif event["EventType"] == "STATE_CHANGE":
                assert now["AgentStatus"]["StartTimestamp"] == event["EventTimestamp"]
                assert not now["Contacts"] and not before["Contacts"]
                deferred += before["NextAgentStatus"] is not None
            if now["NextAgentStatus"] is not None:
                assert now["AgentStatus"]["Name"] == "Available"
    assert deferred > 5
    assert {"Available", "Break", "Lunch", "Offline"} <= set(names)


def test_sessions(agents: dict[str, list[dict[str, Any]]]) -> None:
    """LOGIN is Offline; some LOGINs lack Previous; some sessions lack a LOGOUT."""
    types = Counter(e["EventType"] for events in agents.values() for e in events)
    assert types["LOGOUT"] < types["LOGIN"]
    logins = [e for events in agents.values() for e in events if e["EventType"] == "LOGIN"]
    assert all(e["CurrentAgentSnapshot"]["AgentStatus"]["Name"] == "Offline" for e in logins)
    assert any("PreviousAgentSnapshot" not in e for e in logins)
    assert any("PreviousAgentSnapshot" in e for e in logins)


def test_one_routing_profile_change(agents: dict[str, list[dict[str, Any]]]) -> None:
    """A configuration-only STATE_CHANGE raises a profile's CHAT maximum."""
    changes = []
    for events in agents.values():
        for event in events:
            prev = event.get("PreviousAgentSnapshot")
            now = event["CurrentAgentSnapshot"]
            if prev is None or static(prev) == static(now):
                continue
            if event["EventType"] == "STATE_CHANGE":
                rest = {k: v for k, v in now.items() if k != "Configuration"}
                assert rest == {k: v for k, v in prev.items() if k != "Configuration"}
                changes.append((prev, now))
    assert changes
    for prev, now in changes:
        before = prev["Configuration"]["RoutingProfile"]
        after = now["Configuration"]["RoutingProfile"]
        assert before["Name"] == after["Name"] == "Omni Support"
        chat = [
            (s["MaximumSlots"], t["MaximumSlots"])
            for s, t in zip(before["Concurrency"], after["Concurrency"], strict=True)
            if s["Channel"] == "CHAT"
        ]
        assert chat == [(2, 3)]


def static(snap: dict[str, Any]) -> dict[str, Any]:
    """A snapshot's configuration without AvailableSlots (which follow the contacts)."""
    config = json.loads(json.dumps(snap["Configuration"]))
    for slot in config["RoutingProfile"]["Concurrency"]:
        del slot["AvailableSlots"]
    return config


def test_hierarchy_mostly_populated(agents: dict[str, list[dict[str, Any]]]) -> None:
    """Hierarchy groups have a site and a team for most agents."""
    groups = [
        events[0]["CurrentAgentSnapshot"]["Configuration"]["AgentHierarchyGroups"]
        for events in agents.values()
    ]
    populated = [g for g in groups if g]
    assert len(populated) >= len(groups) // 2
    assert all(
        g["Level1"]["Name"] and g["Level2"]["Name"] and g["Level3"] is None for g in populated
    )


def test_newline_delimiter_and_plain_objects(tmp_path: Path) -> None:
    """delimiter=b'\\n' ends every record with a newline; gzip_objects=False writes plain JSON."""
    generate_archive(tmp_path, agents=2, days=1, delimiter=b"\n", gzip_objects=False)
    paths = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert paths and all(not p.name.endswith(".gz") for p in paths)
    for path in paths:
        lines = path.read_bytes().split(b"\n")
        assert lines[-1] == b""
        assert all(json.loads(line)["EventId"] for line in lines[:-1])


def test_builders_make_valid_hand_built_archive(tmp_path: Path) -> None:
    """agent_event / contact / write_object build short test archives in the real shape."""
    t0 = datetime(2026, 11, 2, 8, tzinfo=UTC)
    call = contact("c-1", "CONNECTED", t0 + timedelta(seconds=20), connected_at=t0)
    events = [
        agent_event("LOGIN", t0, status="Offline", with_previous=False),
        agent_event("STATE_CHANGE", t0 + timedelta(seconds=5), previous_status="Offline"),
        agent_event(
            "STATE_CHANGE",
            t0 + timedelta(seconds=20),
            status_start=t0 + timedelta(seconds=5),
            contacts=[call],
            routing_profile=routing_profile(chat=2),
        ),
    ]
    path = tmp_path / "2026/11/02/08/obj.gz"
    write_object(path, events)
    parsed = [json.loads(r) for r in split_records(gzip.decompress(path.read_bytes()))]
    assert parsed == json.loads(json.dumps(events))
    for rec in parsed:
        for name in ("CurrentAgentSnapshot", "PreviousAgentSnapshot"):
            if name in rec:
                check_snapshot(rec[name], "agent-1")
    slots = parsed[2]["CurrentAgentSnapshot"]["Configuration"]["RoutingProfile"]["Concurrency"]
    assert {s["Channel"]: s["AvailableSlots"] for s in slots} == {"VOICE": 0, "CHAT": 2, "TASK": 1}
    assert parsed[1]["PreviousAgentSnapshot"]["AgentStatus"]["Name"] == "Offline"
    assert parsed[2]["EventTimestamp"] == "2026-11-02T08:00:20.000Z"
    write_object(tmp_path / "again.gz", events)
    assert (tmp_path / "again.gz").read_bytes() == path.read_bytes()


def test_events_for_target() -> None:
    """events_for_target picks (agents, days) near the target and scales."""
    agents, days = events_for_target(500_000)
    assert 0.9 < agents * days * EVENTS_PER_AGENT_DAY / 500_000 < 1.1
    small = events_for_target(20_000)
    assert small[0] >= 1 and small[1] >= 1


def test_default_archive_size_is_in_range(archive: tuple[SampleStats, list[Record]]) -> None:
    """The per-agent-day event rate used by events_for_target holds for generated archives."""
    stats = archive[0]
    assert 0.6 < stats.events / (stats.agents * stats.days * EVENTS_PER_AGENT_DAY) < 1.4


def test_start_date_is_respected(tmp_path: Path) -> None:
    """Events start on the requested date."""
    generate_archive(tmp_path, agents=3, days=1, start=date(2027, 3, 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2027"]
