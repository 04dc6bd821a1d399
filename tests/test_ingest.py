"""The ingest on hand-built archives: values, framing, bad input, incremental loads."""

from __future__ import annotations

import base64
import gzip
import io
import math
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from helpers import REAL_EVENTS, counts, event, ingest, query, real_event, write_object

from ingest.config import RAW_ROW_GROUP_ROWS
from ingest.lake import connect_warehouse
from ingest.parsing import READ_BYTES, _chunks
from ingest.pipeline import IngestSummary
from ingest.splitting import json_error

HOUR = "2026/11/02/08"


def test_clean_real_samples_load_with_their_values(tmp_path: Path) -> None:
    for name in ("acw-1", "acw-2", "sample-1", "sample-2"):
        raw = (REAL_EVENTS / "clean" / f"awsdocs-{name}.json").read_bytes()
        write_object(tmp_path / "src" / HOUR / f"{name}.json", [raw], gz=False)
    wh = tmp_path / "wh.duckdb"
    summary = ingest(tmp_path / "src", wh)

    assert summary.ok and summary.records == 4
    assert counts(wh)["rejected_records"] == 0
    acw = query(
        wh,
        "select event_type, event_timestamp, version, agent_id, current_status_name,"
        " current_status_started_at, current_routing_profile_name, current_username,"
        " has_previous_snapshot, previous_status_name, current_contact_count"
        " from raw.agent_events where source_object like '%acw-1.json'",
    )
    assert acw == [
        (
            "STATE_CHANGE",
            datetime(2019, 5, 25, 18, 55, 27, 17000, tzinfo=UTC),
            "2019-05-25",
            "agent-ARN",
            "Available",
            datetime(2019, 5, 25, 18, 43, 59, 49000, tzinfo=UTC),
            "Basic Routing Profile",
            "(Removed)",
            True,
            "Available",
            1,
        )
    ]
    contacts = query(
        wh,
        "select snapshot, contact_id, channel, initiation_method, state, state_started_at,"
        " connected_to_agent_at, queued_at, queue_name from raw.agent_event_contacts c"
        " where source_object like '%acw-1.json' order by snapshot",
    )
    connected = datetime(2019, 5, 25, 18, 55, 21, 11000, tzinfo=UTC)
    assert contacts == [
        ("current", "ContactId-1", "VOICE", "OUTBOUND", "ENDED",
         datetime(2019, 5, 25, 18, 55, 27, 17000, tzinfo=UTC), connected, None, "BasicQueue"),
        ("previous", "ContactId-1", "VOICE", "OUTBOUND", "CONNECTED", connected, connected, None,
         "BasicQueue"),
    ]  # fmt: skip
    heartbeat = query(
        wh,
        "select current_next_status_name, current_next_status_enqueued_at, previous_status_name"
        " from raw.agent_events where source_object like '%sample-1.json'",
    )
    assert heartbeat == [("Lunch", datetime(2019, 8, 13, 20, 58, 0, 4000, tzinfo=UTC), "Offline")]
    sample = (
        "select {} from raw.agent_events e join raw.{} c"
        " on c.routing_profile_configuration_key = e.{}_routing_profile_configuration_key"
        " where e.source_object like '%sample-1.json'"
    )
    assert query(
        wh,
        sample.format(
            "channel, available_slots, maximum_slots", "agent_event_concurrency", "current"
        )
        + " order by channel",
    ) == [("CHAT", 3, 3), ("VOICE", 1, 1)]
    assert query(
        wh,
        sample.format(
            "channel, available_slots, maximum_slots", "agent_event_concurrency", "previous"
        )
        + " order by channel",
    ) == [("CHAT", 3, 3), ("VOICE", 1, 1)]
    queues = query(
        wh,
        sample.format("queue_name, channels, is_default_outbound", "agent_event_queues", "current")
        + " order by is_default_outbound, queue_name nulls first",
    )
    assert queues == [
        (None, ["VOICE", "CHAT"], False),
        ("Omni-channel-queue", ["CHAT", "VOICE"], False),
        ("OutboundQueue", ["VOICE"], True),
    ]
    # both documentation samples of that agent have the same configuration: stored once
    assert query(
        wh,
        "select count(distinct current_routing_profile_configuration_key), count(*)"
        " from raw.agent_events where source_object like '%sample-_.json'",
    ) == [(1, 2)]
    assert query(
        wh,
        "select count(*) from raw.agent_event_queues q join raw.agent_events e"
        " on q.routing_profile_configuration_key = e.current_routing_profile_configuration_key"
        " where e.source_object like '%sample-2.json'",
    ) == [(3,)]
    stored = query(
        wh,
        "select record, typeof(record) from raw.agent_events where source_object like '%acw-2.json'",
    )
    assert orjson.loads(stored[0][0]) == real_event("acw-2")
    assert stored[0][1] == "JSON"


@pytest.mark.parametrize(
    "name",
    [
        "acw-1",
        "acw-2",
        "agentstatus-fragment-1",
        "releasenotes-fragment-1",
        "releasenotes-fragment-2",
        "sample-1",
        "sample-2",
        "transfer-1",
    ],
)
def test_documentation_originals_are_rejected_with_the_first_problem(
    tmp_path: Path, name: str
) -> None:
    raw = (REAL_EVENTS / f"awsdocs-{name}.json").read_bytes()
    write_object(tmp_path / "src" / HOUR / f"{name}.json", [raw], gz=False)
    wh = tmp_path / "wh.duckdb"
    summary = ingest(tmp_path / "src", wh)

    assert not summary.ok and summary.records == 0
    rows = query(wh, "select byte_offset, error, payload from raw.rejected_records")
    assert rows, "an original must leave a rejection"
    offset, error, payload = rows[0]
    assert error.startswith("invalid JSON:")
    assert bytes(payload) == raw[offset : offset + len(payload)]
    comment = raw.find(b"//")
    if comment != -1 and raw.find(b"{") == 0:
        line = raw[:comment].count(b"\n") + 1
        assert f"at byte {comment} (line {line}," in error
    assert sum(len(p) for _, _, p in rows) >= len(raw.strip()) - len(rows) * 2


def _framed(tmp_path: Path, data: bytes, name: str = "obj") -> tuple[Path, Path]:
    """An archive with a single object holding exactly these bytes."""
    path = tmp_path / "src" / HOUR / name
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return tmp_path / "src", tmp_path / "wh.duckdb"


@pytest.mark.parametrize("sep", [b"", b"\n", b"\r\n", b" \n"])
def test_framings_load_every_record(tmp_path: Path, sep: bytes) -> None:
    records = [orjson.dumps(event(f"e{i}", f"2026-11-02T08:00:0{i}.000Z")) for i in range(5)]
    src, wh = _framed(tmp_path, gzip.compress(sep.join(records) + sep))
    summary = ingest(src, wh)
    assert summary.ok and summary.records == 5
    offsets = [r[0] for r in query(wh, "select byte_offset from raw.agent_events order by 1")]
    expected, at = [], 0
    for r in records:
        expected.append(at)
        at += len(r) + len(sep)
    assert offsets == expected


def test_mixed_framing_and_brace_pairs_inside_strings(tmp_path: Path) -> None:
    tricky = event("e-tricky", "2026-11-02T08:00:01.000Z", Note='say }{ and } {"EventId": "x"}')
    data = (
        orjson.dumps(event("e1", "2026-11-02T08:00:00.000Z"))
        + orjson.dumps(tricky)
        + b"\n"
        + orjson.dumps(event("e2", "2026-11-02T08:00:02.000Z"), option=orjson.OPT_INDENT_2)
        + orjson.dumps(event("e3", "2026-11-02T08:00:03.000Z"))
    )
    src, wh = _framed(tmp_path, data)
    summary = ingest(src, wh)
    assert summary.ok
    ids = [r[0] for r in query(wh, "select event_id from raw.agent_events order by byte_offset")]
    assert ids == ["e1", "e-tricky", "e2", "e3"]
    note = query(wh, "select record->>'Note' from raw.agent_events where event_id = 'e-tricky'")
    assert note == [('say }{ and } {"EventId": "x"}',)]


def test_compression_is_recognised_by_magic_bytes_not_extension(tmp_path: Path) -> None:
    body = orjson.dumps(event("e1", "2026-11-02T08:00:00.000Z")) + orjson.dumps(
        event("e2", "2026-11-02T08:00:01.000Z")
    )
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("records", body)
    src = tmp_path / "src" / HOUR
    src.mkdir(parents=True)
    (src / "plain.gz").write_bytes(body)  # says gz, is not
    (src / "gzipped").write_bytes(gzip.compress(body))  # no extension, is gzip
    (src / "zipped.json").write_bytes(zipped.getvalue())
    (src / "snappy.snappy").write_bytes(b"\xff\x06\x00\x00sNaPpY" + b"\x00" * 20)
    (src / "hadoop.snappy").write_bytes(b"\x00\x00\x10\x00\x00\x00\x02\x1a" + body[:40])
    (src / "broken.gz").write_bytes(gzip.compress(body)[:-30])
    wh = tmp_path / "wh.duckdb"
    summary = ingest(tmp_path / "src", wh)

    # broken.gz lost its last 30 bytes: e1 is read whole from it, e2 is cut and rejected
    assert summary.records == 2 + 2 + 2 + 1 and summary.rejected_objects == 3
    assert summary.rejected_records == 1
    rejected = query(
        wh,
        "select split_part(source_object, '/', -1), byte_offset, error from raw.rejected_records"
        " order by all",
    )
    by_object = {name: error for name, offset, error in rejected if offset is None}
    assert set(by_object) == {"snappy.snappy", "hadoop.snappy"}
    assert "Snappy" in by_object["snappy.snappy"]
    assert "object is binary, not JSON text (a NUL byte at offset 0)" in by_object["hadoop.snappy"]
    broken = [(offset, error) for name, offset, error in rejected if name == "broken.gz"]
    e2_at = len(orjson.dumps(event("e1", "2026-11-02T08:00:00.000Z")))
    assert [offset for offset, _ in broken] == [e2_at, e2_at] or len(broken) == 2
    assert any("gzip object is truncated" in error for _, error in broken)
    assert any("unexpected end of data" in error for _, error in broken)


def test_bad_records_are_rejected_and_their_neighbours_load(tmp_path: Path) -> None:
    good = [orjson.dumps(event(f"g{i}", f"2026-11-02T08:00:0{i}.000Z")) for i in range(4)]
    no_previous = event("g-login", "2026-11-02T08:00:05.000Z", "LOGIN")
    del no_previous["PreviousAgentSnapshot"]
    unknown_type = event("g-new", "2026-11-02T08:00:06.000Z", "SOMETHING_NEW", NewField={"a": 1})
    next_status = real_event("sample-1")
    ns = next_status["CurrentAgentSnapshot"]["NextAgentStatus"]
    ns["EnqueueTimestamp"] = ns.pop("EnqueuedTimestamp")
    next_status["EventId"] = "g-enqueue"
    wrong_type = event("b-type", "2026-11-02T08:00:07.000Z")
    wrong_type["CurrentAgentSnapshot"]["Contacts"] = "none"
    bad = {
        "truncated": good[0][:300],
        "not-an-event": b'{"hello": "world"}',
        "missing-id": orjson.dumps({k: v for k, v in event("x", "2026-11-02T08:00:00Z").items() if k != "EventId"}),
        "empty-arn": orjson.dumps(event("b-arn", "2026-11-02T08:00:00Z", AgentARN="")),
        "bad-time": orjson.dumps(event("b-time", "yesterday")),
        "wrong-type": orjson.dumps(wrong_type),
        "array": b"[1, 2]",
    }  # fmt: skip
    parts = [
        good[0],
        bad["truncated"],
        good[1],
        bad["not-an-event"],
        orjson.dumps(no_previous),
        bad["missing-id"],
        bad["empty-arn"],
        orjson.dumps(unknown_type),
        bad["bad-time"],
        good[2],
        bad["wrong-type"],
        orjson.dumps(next_status),
        bad["array"],
        good[3],
    ]
    src, wh = _framed(tmp_path, b"".join(parts))
    data = b"".join(parts)
    summary = ingest(src, wh)

    loaded = {r[0] for r in query(wh, "select event_id from raw.agent_events")}
    assert loaded == {"g0", "g1", "g2", "g3", "g-login", "g-new", "g-enqueue"}
    assert summary.records == 7 and not summary.ok
    rejected = query(wh, "select byte_offset, error, payload from raw.rejected_records order by 1")
    for offset, _, payload in rejected:
        assert data[offset : offset + len(payload)] == bytes(payload)
    errors = [e for _, e, _ in rejected]
    assert any(e.startswith("invalid JSON: unexpected") for e in errors)
    assert (
        "JSON object is not an agent event: it has none of EventId, EventType, EventTimestamp, AgentARN"
        in errors
    )
    assert "agent event lacks required field(s) EventId" in errors
    assert "agent event lacks required field(s) AgentARN" in errors  # an empty string
    assert "EventTimestamp 'yesterday' is not an ISO 8601 timestamp" in errors
    assert any(e.startswith("record does not fit the agent-event schema") for e in errors)
    assert any("[1, 2]" in bytes(p).decode() for _, _, p in rejected)
    assert query(
        wh,
        "select has_previous_snapshot, previous_status_name, event_type, record->'NewField'->>'a'"
        " from raw.agent_events where event_id in ('g-login', 'g-new') order by event_id",
    ) == [(False, None, "LOGIN", None), (True, "Available", "SOMETHING_NEW", "1")]
    assert query(
        wh,
        "select current_next_status_enqueued_at from raw.agent_events where event_id = 'g-enqueue'",
    ) == [(datetime(2019, 8, 13, 20, 58, 0, 4000, tzinfo=UTC),)]  # fmt: skip


def test_duplicates_are_all_kept_in_raw(tmp_path: Path) -> None:
    twice = event("same", "2026-11-02T08:00:00.000Z")
    write_object(
        tmp_path / "src" / HOUR / "a.gz", [twice, event("other", "2026-11-02T08:00:01.000Z")]
    )
    write_object(tmp_path / "src" / "2026/11/02/09" / "b.gz", [twice])
    wh = tmp_path / "wh.duckdb"
    ingest(tmp_path / "src", wh)
    assert query(wh, "select count(*) from raw.agent_events where event_id = 'same'") == [(2,)]
    assert query(wh, "select count(*) from raw.agent_event_contacts where event_id = 'same'") == [
        (4,)
    ]


def write_seven_objects(src: Path) -> None:
    """Seven objects of three events each, one hourly folder."""
    for n in range(7):
        write_object(
            src / HOUR / f"obj-{n}.gz",
            [event(f"e{n}-{i}", f"2026-11-02T08:0{n}:0{i}.000Z") for i in range(3)],
        )


@pytest.mark.e2e
@pytest.mark.parametrize("sink", ["warehouse", "lake"])
def test_reruns_load_only_new_objects_and_report_changed_ones(tmp_path: Path, sink: str) -> None:
    src, wh = tmp_path / "src", tmp_path / "wh.duckdb"
    lake = str(tmp_path / "lake") if sink == "lake" else None

    def run(**settings: int) -> IngestSummary:
        """The ingest into the sink; the warehouse's raw views brought up to date."""
        summary = ingest(src, wh, lake=lake, **settings)
        if lake:
            connect_warehouse(wh, lake).close()
        return summary

    write_seven_objects(src)
    first = run(batch_objects=2)
    assert (first.new, first.records, first.skipped) == (7, 21, 0)
    before = counts(wh)

    again = run(batch_objects=2)
    assert (again.new, again.records, again.skipped) == (0, 0, 7)
    assert counts(wh) == before

    write_object(src / "2026/11/02/09" / "late.gz", [event("late", "2026-11-02T08:59:59.000Z")])
    added = run()
    assert (added.new, added.records, added.skipped) == (1, 1, 7)
    assert counts(wh)["agent_events"] == before["agent_events"] + 1

    changed = src / HOUR / "obj-3.gz"
    write_object(changed, [event("rewritten", "2026-11-02T08:03:00.000Z")])
    report = run()
    assert report.changed_objects == [str(changed.resolve())] and not report.ok
    assert query(wh, "select count(*) from raw.agent_events where event_id = 'rewritten'") == [(0,)]
    assert query(
        wh,
        "select count(*) from raw.rejected_records where error like 'object changed after it was loaded%'",
    ) == [(1,)]
    assert run().changed_objects == [str(changed.resolve())]
    assert query(wh, "select count(*) from raw.rejected_records") == [(1,)]
    touched = src / HOUR / "obj-4.gz"
    manifest = "select etag, ingested_at from raw.ingested_objects where source_object = ?"
    [(etag, loaded_at)] = query(wh, manifest, [str(touched.resolve())])
    touched.write_bytes(touched.read_bytes())  # new mtime, same content
    rerun = run()
    assert rerun.changed_objects == [str(changed.resolve())] and rerun.records == 0
    [(new_etag, still_loaded_at)] = query(wh, manifest, [str(touched.resolve())])
    assert new_etag != etag and still_loaded_at == loaded_at
    assert counts(wh)["ingested_objects"] == 8


def test_firehose_error_output_is_decoded_and_marked_recovered(tmp_path: Path) -> None:
    good = orjson.dumps(event("recovered-1", "2026-11-02T08:00:00.000Z"))
    wrappers = [
        {
            "attemptsMade": 4,
            "arrivalTimestamp": 1793606400000,
            "errorCode": "Lambda.FunctionError",
            "errorMessage": "The Lambda function was successfully invoked but it returned an error result.",
            "attemptEndingTimestamp": 1793606460000,
            "rawData": base64.b64encode(good).decode(),
            "lambdaArn": "arn:aws:lambda:us-east-1:012345678901:function:transform:$LATEST",
        },
        {"attemptsMade": 1, "errorCode": "Lambda.FunctionError", "rawData": "not base64!"},
    ]
    path = tmp_path / "src" / "processing-failed" / HOUR / "stream-1-2026-11-02-08-00-00-x"
    write_object(path, [orjson.dumps(w) for w in wrappers], sep=b"\n")
    write_object(
        tmp_path / "src" / HOUR / "normal.gz", [event("normal", "2026-11-02T08:00:01.000Z")]
    )
    wh = tmp_path / "wh.duckdb"
    summary = ingest(tmp_path / "src", wh)

    assert (summary.records, summary.recovered, summary.rejected_records) == (2, 1, 1)
    assert query(
        wh, "select event_id, recovered_from_error_output from raw.agent_events order by 1"
    ) == [
        ("normal", False),
        ("recovered-1", True),
    ]
    assert query(wh, "select record from raw.agent_events where event_id = 'recovered-1'") == [
        (good.decode(),)
    ]
    [(error, payload)] = query(wh, "select error, payload from raw.rejected_records")
    assert error.startswith("JSON object is not an agent event")
    assert orjson.loads(payload)["rawData"] == "not base64!"


def test_new_fields_are_kept_and_reported(tmp_path: Path) -> None:
    drifted = []
    for i in range(3):
        record = event(f"new-{i}", f"2026-11-02T08:00:0{i}.000Z", Region="eu-west-2")
        record["CurrentAgentSnapshot"]["Proficiencies"] = [{"Name": "Spanish", "Level": 3}]
        record["CurrentAgentSnapshot"]["Contacts"][0]["SegmentAttributes"] = {"x": 1}
        drifted.append(record)
    write_object(tmp_path / "src" / HOUR / "a.gz", drifted)
    write_object(
        tmp_path / "src" / HOUR / "b.gz",
        [event(f"old-{i}", "2026-11-02T08:01:00.000Z") for i in range(2)],
    )
    wh = tmp_path / "wh.duckdb"
    summary = ingest(tmp_path / "src", wh)

    assert summary.ok and summary.records == 5
    assert dict(summary.new_fields) == {
        "CurrentAgentSnapshot.Contacts.SegmentAttributes": 3,
        "CurrentAgentSnapshot.Proficiencies": 3,
        "Region": 3,
    }
    assert query(
        wh,
        "select count(*) from raw.agent_events where (record->'CurrentAgentSnapshot'->'Proficiencies') is not null",
    ) == [(3,)]


@pytest.mark.e2e
def test_a_misfit_record_deep_in_a_large_object_is_rejected_alone(tmp_path: Path) -> None:
    src, wh = tmp_path / "src", tmp_path / "wh.duckdb"
    misfit = event("bad", "2026-11-02T08:00:00.000Z", CurrentAgentSnapshot="not a snapshot")
    good = [event(f"e{i}", "2026-11-02T08:00:00.000Z") for i in range(3_000)]
    write_object(src / HOUR / "big.gz", [*good[:2_500], misfit, *good[2_500:]], sep=b"\n")

    summary = ingest(src, wh)

    assert (summary.records, summary.rejected_records) == (3_000, 1)
    [(error,)] = query(wh, "select error from raw.rejected_records")
    assert error.startswith("record does not fit the agent-event schema")


def test_parsed_batches_are_committed_in_groups(tmp_path: Path) -> None:
    src, wh = tmp_path / "src", tmp_path / "wh.duckdb"
    write_seven_objects(src)
    summary = ingest(src, wh, batch_objects=1, commit_records=5)
    assert (summary.new, summary.records) == (7, 21)
    assert query(
        wh,
        "select count(*), count(distinct event_id), count(distinct ingested_at)"
        " from raw.agent_events",
    ) == [(21, 21, 4)]  # commits of 2, 2, 2 and 1 objects
    assert query(wh, "select count(*), sum(records) from raw.ingested_objects") == [(7, 21)]


@pytest.mark.e2e
def test_raw_events_are_stored_in_small_row_groups(tmp_path: Path) -> None:
    src, wh = tmp_path / "src", tmp_path / "wh.duckdb"
    for n in range(3):
        write_object(
            src / HOUR / f"obj-{n}.gz",
            [event(f"e{n}-{i}", "2026-11-02T08:00:00.000Z") for i in range(3_000)],
        )
    assert ingest(src, wh).records == 9_000
    assert query(
        wh,
        "select count(distinct row_group_id), max(row_group_id)"
        " from pragma_storage_info('raw.agent_events')",
    ) == [(math.ceil(9_000 / RAW_ROW_GROUP_ROWS), math.ceil(9_000 / RAW_ROW_GROUP_ROWS) - 1)]


def test_values_duckdb_tolerates_but_json_forbids_are_rejected(tmp_path: Path) -> None:
    nan_first = orjson.dumps(event("b-nan", "2026-11-02T08:00:00.000Z"))[:-1] + b',"X":NaN}'
    comma = orjson.dumps(event("b-comma", "2026-11-02T08:00:01.000Z"))[:-1] + b", }"
    lower = orjson.dumps(event("b-lower", "2026-11-02T08:00:01.000Z"))[:-1] + b',"X":[-inf]}'
    infinity_text = event("g-text", "2026-11-02T08:00:03.000Z", Note="NaN, Infinity,} and: nan")
    infinity_text = orjson.dumps(infinity_text)[:-1] + b',"Big":1e400}'  # JSON, beyond a double
    good = orjson.dumps(event("g1", "2026-11-02T08:00:04.000Z"))
    one_per_line = b"\n".join([nan_first, good, comma, lower, infinity_text])
    pretty = orjson.dumps(event("b-pretty", "2026-11-02T08:00:02.000Z"), option=orjson.OPT_INDENT_2)
    pretty = pretty[:-2] + b",\n}"
    src, wh = _framed(tmp_path, one_per_line, "a")  # read fast, as NDJSON
    (src / HOUR / "b").write_bytes(pretty + good.replace(b'"g1"', b'"g2"'))  # read precisely

    summary = ingest(src, wh)

    assert summary.records == 3 and summary.rejected_records == 4
    loaded = {r[0] for r in query(wh, "select event_id from raw.agent_events")}
    assert loaded == {"g1", "g2", "g-text"}
    rejected = query(
        wh,
        "select split_part(source_object, '/', -1), byte_offset, error, payload"
        " from raw.rejected_records order by 1, 2",
    )
    data = {"a": one_per_line, "b": pretty}
    assert [(name, offset) for name, offset, _, _ in rejected] == [
        ("a", 0),
        ("a", one_per_line.index(comma)),
        ("a", one_per_line.index(lower)),
        ("b", 0),
    ]
    for name, offset, error, payload in rejected:
        assert error.startswith("invalid JSON: ")
        assert data[name][offset : offset + len(payload)] == bytes(payload)
    assert ingest(src, wh).skipped == 2  # the next run is not stopped either


def test_a_string_full_of_brace_pairs_stays_one_record(tmp_path: Path) -> None:
    name = "a}{b" * 40
    tricky = event("e-tricky", "2026-11-02T08:00:01.000Z")
    tricky["CurrentAgentSnapshot"]["Configuration"]["FirstName"] = name
    records = [event("e1", "2026-11-02T08:00:00.000Z"), tricky, event("e2", "2026-11-02T08:00:02Z")]
    write_object(tmp_path / "src" / HOUR / "obj.gz", records)
    wh = tmp_path / "wh.duckdb"

    summary = ingest(tmp_path / "src", wh)

    assert summary.ok and summary.records == 3
    assert query(
        wh, "select current_first_name from raw.agent_events where event_id = 'e-tricky'"
    ) == [(name,)]


@pytest.mark.e2e
def test_an_object_larger_than_one_read_loads_whole(tmp_path: Path) -> None:
    count = 10_000  # about 32 MB of JSON: more than one read of the parser takes
    records = [event(f"e{i}", "2026-11-02T08:00:00.000Z") for i in range(count)]
    assert sum(len(orjson.dumps(r)) + 1 for r in records) > READ_BYTES
    write_object(tmp_path / "src" / HOUR / "big.gz", records, sep=b"\n")
    wh = tmp_path / "wh.duckdb"

    summary = ingest(tmp_path / "src", wh)

    assert summary.ok and summary.records == count
    assert query(wh, "select count(distinct event_id), min(byte_offset) from raw.agent_events") == [
        (count, 0)
    ]


def test_reads_are_cut_at_record_boundaries_within_the_size() -> None:
    lines = [b"x" * n for n in (5, 9, 3, 20, 1, 1, 7)]
    chunks = list(_chunks(lines, 16))
    assert [line for chunk in chunks for line in chunk] == lines
    assert [len(chunk) for chunk in chunks] == [2, 2, 3]


def test_a_file_name_that_is_not_utf8_is_reported_and_the_rest_loads(tmp_path: Path) -> None:
    folder = tmp_path / "src" / HOUR
    write_object(folder / "good.gz", [event("e1", "2026-11-02T08:00:00.000Z")])
    (Path(os.fsdecode(os.fsencode(folder) + b"/bad\xffname.gz"))).write_bytes(b"{}")
    wh = tmp_path / "wh.duckdb"

    for _ in range(2):
        summary = ingest(tmp_path / "src", wh)
        assert summary.unfetched == 1 and not summary.ok

    assert query(wh, "select event_id from raw.agent_events") == [("e1",)]
    [(key, error)] = query(wh, "select source_object, error from raw.rejected_records")
    assert key.endswith("/bad\ufffdname.gz")
    assert error.startswith("file name is not valid UTF-8")


def test_a_record_that_is_not_utf8_is_rejected_naming_the_byte(tmp_path: Path) -> None:
    good = orjson.dumps(event("e1", "2026-11-02T08:00:00.000Z"))
    bad = orjson.dumps(event("e2", "2026-11-02T08:00:01.000Z", Note="café")).replace(
        "é".encode(), b"\xff"
    )
    data = good + bad + good.replace(b'"e1"', b'"e3"')
    src, wh = _framed(tmp_path, data)

    summary = ingest(src, wh)

    assert summary.records == 2 and summary.rejected_records == 1
    [(offset, error, payload)] = query(
        wh, "select byte_offset, error, payload from raw.rejected_records"
    )
    assert (offset, bytes(payload)) == (len(good), bad)
    bad_byte = data.index(b"\xff")
    assert error == f"invalid JSON: byte {bad_byte} (0xff) is not UTF-8 text"


@pytest.mark.parametrize("note", ["x}{y", "a}{b}{c}{d"])
def test_a_cut_record_is_rejoined_whatever_follows_it(tmp_path: Path, note: str) -> None:
    cut = orjson.dumps(event("e-cut", "2026-11-02T08:00:00.000Z", Note=note))
    not_utf8 = orjson.dumps(event("b-utf8", "2026-11-02T08:00:01Z", Note="é")).replace(
        "é".encode(), b"\xff"
    )
    last = orjson.dumps(event("e-last", "2026-11-02T08:00:02.000Z"))
    src, wh = _framed(tmp_path, cut + not_utf8 + last)

    summary = ingest(src, wh)

    assert {r[0] for r in query(wh, "select event_id from raw.agent_events")} == {"e-cut", "e-last"}
    assert summary.rejected_records == 1
    assert query(wh, "select byte_offset from raw.rejected_records") == [(len(cut),)]


def test_text_objects_with_a_bom_or_a_stray_nul_byte_keep_their_good_records(
    tmp_path: Path,
) -> None:
    records = [orjson.dumps(event(f"e{i}", f"2026-11-02T08:00:0{i}.000Z")) for i in range(4)]
    src = tmp_path / "src" / HOUR
    src.mkdir(parents=True)
    (src / "bom.json").write_bytes(b"\xef\xbb\xbf" + records[0] + b"\n" + records[1])
    (src / "nul.json").write_bytes(records[2][:30] + b"\x00\x00\n" + records[2] + records[3])
    bom_nul = b"\xef\xbb\xbf" + records[2][:20] + b"\x00\n" + records[1].replace(b'"e1"', b'"e4"')
    (src / "bom-nul.json").write_bytes(bom_nul)
    wh = tmp_path / "wh.duckdb"

    summary = ingest(tmp_path / "src", wh)

    assert summary.records == 5 and summary.rejected_records == 2
    assert query(
        wh, "select event_id, byte_offset from raw.agent_events where event_id in ('e0', 'e3')"
    ) == [("e0", 3), ("e3", 33 + len(records[2]))]
    assert query(
        wh,
        "select split_part(source_object, '/', -1), byte_offset, payload"
        " from raw.rejected_records order by 1",
    ) == [
        ("bom-nul.json", 3, records[2][:20] + b"\x00"),
        ("nul.json", 0, records[2][:30] + b"\x00\x00"),
    ]


def test_a_record_too_big_for_the_parser_does_not_stop_the_run(tmp_path: Path) -> None:
    huge = event("e-huge", "2026-11-02T08:00:01.000Z", Extra=[0] * 2_000_000)
    records = [event("e1", "2026-11-02T08:00:00.000Z"), huge, event("e2", "2026-11-02T08:00:02Z")]
    write_object(tmp_path / "src" / HOUR / "obj.gz", records, sep=b"\n")
    wh = tmp_path / "wh.duckdb"

    summary = ingest(tmp_path / "src", wh)

    loaded = {r[0] for r in query(wh, "select event_id from raw.agent_events")}
    assert {"e1", "e2"} <= loaded
    rejected = query(wh, "select byte_offset from raw.rejected_records")
    assert summary.records + summary.rejected_records == 3  # the big one loaded or rejected
    assert ("e-huge" in loaded) == (rejected == [])


def test_a_bad_first_byte_is_named() -> None:
    assert json_error(b"\xff" + orjson.dumps({"a": 1}), 10) == (
        "invalid JSON: byte 10 (0xff) is not UTF-8 text"
    )


@pytest.mark.parametrize("stray", [b"\x0c", b"\n\x0b\n"])
def test_a_stray_control_byte_between_records_is_rejected(tmp_path: Path, stray: bytes) -> None:
    first = orjson.dumps(event("e1", "2026-11-02T08:00:00.000Z"))
    second = orjson.dumps(event("e2", "2026-11-02T08:00:01.000Z"))
    src, wh = _framed(tmp_path, first + stray + second)

    summary = ingest(src, wh)

    assert summary.records == 2 and summary.rejected_records == 1
    [(offset, payload)] = query(wh, "select byte_offset, payload from raw.rejected_records")
    control = stray.strip(b"\n")  # JSON whitespace around it is not part of the bad bytes
    assert (offset, bytes(payload)) == (len(first) + stray.index(control), control)
