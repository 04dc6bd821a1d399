"""Hostile and damaged input, end to end: every case of the hardening issue, with its bytes."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import orjson
import pytest
from helpers import cli, event, ingest, query

from ingest.config import Settings
from ingest.pipeline import run_ingest

HOUR = "2026/11/02/08"
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def records(n: int, first: int = 0) -> list[bytes]:
    """n real-shaped agent events e<first>.. as JSON, one second apart."""
    return [
        orjson.dumps(event(f"e{i}", f"2026-11-02T08:{i // 60:02d}:{i % 60:02d}.000Z"))
        for i in range(first, first + n)
    ]


def loaded_ids(warehouse: Path) -> set[str]:
    """The EventIds loaded into raw.agent_events."""
    return {row[0] for row in query(warehouse, "select event_id from raw.agent_events")}


def rejections(warehouse: Path, name: str) -> list[tuple[int | None, str, bytes | None]]:
    """Offset, error and payload of each rejection of the object called name."""
    return query(
        warehouse,
        "select byte_offset, error, payload from raw.rejected_records"
        f" where source_object like '%/{name}' order by byte_offset nulls first, error",
    )


def test_bytes_that_are_not_utf8_are_rejected_and_the_night_goes_on(tmp_path: Path) -> None:
    src, wh = tmp_path / "s", tmp_path / "w.duckdb"
    src.mkdir()
    (src / "x.json").write_bytes(b'{"a":"\x85"}')  # the bytes: a run hung on them
    (src / "y.json").write_bytes(b'{"a":1}\x80{"a":2}')
    r = records(3)
    (src / "z.json").write_bytes(r[0] + b"\x85" + r[1] + r[2][:100] + b"\xbf" + r[2][100:])
    (src / "nested.gz").write_bytes(gzip.compress(gzip.compress(r[0])))

    result = cli("ingest", "--source", src, "--warehouse", wh)

    assert result.returncode == 1, result.stderr  # finished, with rejections
    assert loaded_ids(wh) == {"e0", "e1"}
    assert rejections(wh, "x.json")[0][:2] == (0, "invalid JSON: byte 6 (0x85) is not UTF-8 text")
    z = rejections(wh, "z.json")
    at = len(r[0])  # the stray byte between e0 and e1
    assert z[0] == (at, f"invalid JSON: byte {at} (0x85) is not UTF-8 text", b"\x85")
    e2_at = len(r[0]) + 1 + len(r[1])
    assert z[1][0] == e2_at and f"byte {e2_at + 100} (0xbf) is not UTF-8 text" in z[1][1]
    assert "compressed twice (gzip inside" in rejections(wh, "nested.gz")[0][1]
    assert cli("ingest", "--source", src, "--warehouse", wh).returncode == 0  # nothing new


def test_byte_order_marks_before_records_are_not_stored(tmp_path: Path) -> None:
    src, wh = tmp_path / "s" / HOUR, tmp_path / "w.duckdb"
    src.mkdir(parents=True)
    r = records(4)
    bom = b"\xef\xbb\xbf"
    (src / "a.json").write_bytes(bom + bom + r[0])
    (src / "b.json").write_bytes(b"\n" + bom + r[1])
    (src / "c.json").write_bytes(r[2] + b"\n" + bom + r[3])

    ingest(tmp_path / "s", wh)

    assert loaded_ids(wh) == {"e0", "e1", "e2", "e3"}
    assert query(wh, "select count(*) from raw.agent_events where record->>'$.EventId' = event_id")
    assert query(
        wh, "select count(*) from raw.agent_events where record->>'$.EventId' = event_id"
    ) == [(4,)]
    offset, error, payload = rejections(wh, "c.json")[0]  # a mark between records: stray bytes
    assert (offset, payload) == (len(r[2]) + 1, bom) and error.startswith("invalid JSON")


def _gzip_readable_prefix(data: bytes) -> bytes:
    """What zlib itself decompresses from a gzip object before its first fault."""
    inflater, out = zlib.decompressobj(wbits=31), []
    for i in range(len(data)):
        try:
            out.append(inflater.decompress(data[i : i + 1]))
        except zlib.error:
            break
    return b"".join(out)


def _whole_records_in(prefix: bytes, recs: list[bytes]) -> set[str]:
    """The EventIds of the records that lie whole in a prefix of their concatenation."""
    ids, end = set(), 0
    for rec in recs:
        end += len(rec)
        if end <= len(prefix) and prefix[end - len(rec) : end] == rec:
            ids.add(orjson.loads(rec)["EventId"])
    return ids


def test_a_damaged_gzip_object_loads_every_record_that_can_be_read(tmp_path: Path) -> None:
    r = records(21)
    whole = gzip.compress(b"".join(r), mtime=0)
    cut = whole[: len(whole) * 2 // 3]
    flipped = bytearray(whole)
    flipped[len(whole) * 8 // 10] ^= 0xFF
    src, wh = tmp_path / "s" / HOUR, tmp_path / "w.duckdb"
    src.mkdir(parents=True)
    for name, data in (("cut", cut), ("flipped", bytes(flipped)), ("trailing", whole + b"junk!")):
        (src / f"{name}.gz").write_bytes(data)

    ingest(tmp_path / "s", wh)

    by_object = {
        name: {
            row[0]
            for row in query(
                wh, f"select event_id from raw.agent_events where source_object like '%/{name}.gz'"
            )
        }
        for name in ("cut", "flipped", "trailing")
    }
    cut_ids = _whole_records_in(_gzip_readable_prefix(cut), r)
    flipped_ids = _whole_records_in(_gzip_readable_prefix(bytes(flipped)), r)
    assert cut_ids and by_object["cut"] == cut_ids  # all that zlib itself can read
    assert flipped_ids and flipped_ids <= by_object["flipped"]
    assert by_object["trailing"] == {f"e{i}" for i in range(21)}
    for name, data, says in (
        ("cut", cut, "gzip object is truncated"),
        ("flipped", bytes(flipped), "gzip object is damaged"),
        ("trailing", whole + b"junk!", "5 bytes of trailing data"),
    ):
        damage = [row for row in rejections(wh, f"{name}.gz") if says in row[1]]
        assert len(damage) == 1, (name, rejections(wh, f"{name}.gz"))
        assert damage[0][2] == data  # the object's bytes are kept
        assert damage[0][0] is not None  # the offset, in the decompressed stream


def test_an_object_with_nothing_loaded_loads_when_its_intact_version_arrives(
    tmp_path: Path,
) -> None:
    r = records(3)
    obj = tmp_path / "s" / HOUR / "x.gz"
    obj.parent.mkdir(parents=True)
    obj.write_bytes(gzip.compress(b"".join(r))[:12])  # a gzip header and nothing else
    wh = tmp_path / "w.duckdb"
    first = ingest(tmp_path / "s", wh)
    assert first.records == 0 and first.rejected_objects == 1

    obj.write_bytes(gzip.compress(b"".join(r)))
    second = ingest(tmp_path / "s", wh)

    assert second.changed_objects == [] and second.records == 3 and second.ok
    assert loaded_ids(wh) == {"e0", "e1", "e2"}
    assert query(wh, "select records, rejected from raw.ingested_objects") == [(3, 0)]
    assert ingest(tmp_path / "s", wh).new == 0  # and it is loaded once


def test_rfc3339_variants_load_with_their_instant_and_unreadable_ones_are_counted(
    tmp_path: Path,
) -> None:
    variant = event("t1", "2026-11-02t08:00:00.500z")
    snapshot = variant["CurrentAgentSnapshot"]
    snapshot["AgentStatus"]["StartTimestamp"] = "2026-11-02 07:59:00.000Z"
    snapshot["Contacts"][0]["StateStartTimestamp"] = "2026-11-02t07:58:00.250+01:00"
    unreadable = event("t2", "2026-11-02 08:00:01Z")
    unreadable["CurrentAgentSnapshot"]["Contacts"][0]["ConnectedToAgentTimestamp"] = "yesterday"
    src, wh = tmp_path / "s", tmp_path / "w.duckdb"
    src.mkdir()
    (src / "t.json").write_bytes(orjson.dumps(variant) + orjson.dumps(unreadable))

    result = cli("ingest", "--source", src, "--warehouse", wh)

    assert "1 values could not be read as timestamps; kept in record" in result.stderr
    assert result.returncode == 1
    assert query(
        wh,
        "select event_id, strftime(event_timestamp, '%H:%M:%S.%g'),"
        " strftime(current_status_started_at, '%H:%M:%S.%g') from raw.agent_events order by 1",
    ) == [("t1", "08:00:00.500", "07:59:00.000"), ("t2", "08:00:01.000", "18:43:59.049")]
    assert query(
        wh,
        "select strftime(state_started_at, '%H:%M:%S.%g') from raw.agent_event_contacts"
        " where event_id = 't1' and snapshot = 'current'",
    ) == [("06:58:00.250",)]  # 07:58:00.250 at +01:00 is 06:58:00.250 UTC
    assert query(wh, "select timestamps_unreadable from raw.runs") == [(1,)]


def test_a_record_with_a_key_twice_is_rejected_naming_the_key(tmp_path: Path) -> None:
    r = records(3)
    twice = r[1].replace(b'"EventType":"STATE_CHANGE"', b'"EventType":"LOGIN","EventType":"X"')
    nested = r[2].replace(b'"Name":"Available"', b'"Name":"Available" , "Name" :"Lunch"', 1)
    src, wh = tmp_path / "s", tmp_path / "w.duckdb"
    src.mkdir()
    (src / "d.json").write_bytes(r[0] + twice + b"\n" + nested)

    ingest(src, wh)

    assert loaded_ids(wh) == {"e0"}
    assert [(o, e) for o, e, _ in rejections(wh, "d.json")] == [
        (len(r[0]), "JSON object has the key 'EventType' twice, so its value is ambiguous"),
        (
            len(r[0]) + len(twice) + 1,
            "JSON object has the key 'Name' twice, so its value is ambiguous",
        ),
    ]


def test_any_warehouse_path_works_end_to_end(tmp_path: Path) -> None:
    src = tmp_path / "s" / HOUR
    src.mkdir(parents=True)
    (src / "a.json").write_bytes(b"".join(records(4)))
    wh = tmp_path / "o'brien; x" / "wh;x y é.duckdb"

    result = cli("run", "--source", tmp_path / "s", "--warehouse", wh)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "every model built and every test passed" in result.stderr
    assert query(wh, "select count(*) from staging.stg_agent_events") == [(4,)]
    assert query(wh, "select count(*) > 0 from marts.fct_agent_status") == [(True,)]


def test_an_object_that_expands_beyond_the_limit_is_rejected_with_its_size(
    tmp_path: Path,
) -> None:
    src, wh = tmp_path / "s", tmp_path / "w.duckdb"
    src.mkdir()
    (src / "bomb.gz").write_bytes(gzip.compress(b" " * (3 * 2**20)))  # 3 MiB of spaces
    (src / "fine.gz").write_bytes(gzip.compress(b"".join(records(2))))

    summary = run_ingest(Settings(str(src), wh, max_object_bytes=2**20))

    assert summary.records == 2 and summary.rejected_objects == 1
    [(offset, error, payload)] = rejections(wh, "bomb.gz")
    assert offset is None and "expands to more than 1,048,576 bytes" in error
    assert payload == (src / "bomb.gz").read_bytes()


def test_a_source_that_cannot_be_listed_is_a_run_with_its_reason(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    missing = cli("run", "--source", tmp_path / "nowhere", "--warehouse", wh)
    a_file = tmp_path / "objects.json"
    a_file.write_bytes(records(1)[0])
    file_source = cli("ingest", "--source", a_file, "--warehouse", wh)

    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert file_source.returncode == 1
    assert f"source {a_file} is a file, not a folder" in file_source.stderr
    runs = query(
        wh, "select command, published, exit_status, error from raw.runs order by started_at"
    )
    assert [r[:3] for r in runs] == [("run", True, 1), ("ingest", True, 1)]
    assert "nowhere does not exist" in runs[0][3] and "is a file, not a folder" in runs[1][3]


def test_links_out_of_the_source_are_not_followed_and_reported_once(tmp_path: Path) -> None:
    secret = tmp_path / "credentials"
    secret.write_text("aws_secret_access_key = hunter2\n")
    src, wh = tmp_path / "s", tmp_path / "w.duckdb"
    (src / HOUR).mkdir(parents=True)
    (src / HOUR / "creds.json").symlink_to(secret)
    (src / HOUR / "inside.json").write_bytes(records(1)[0])
    (src / HOUR / "link-inside.json").symlink_to(src / HOUR / "inside.json")

    first = ingest(src, wh)
    second = ingest(src, wh)

    assert first.records == 2 and first.rejected_objects == 1
    [(_, error, payload)] = rejections(wh, "creds.json")
    assert "symbolic link to a file outside the source folder" in error and payload is None
    assert query(wh, "select count(*) from raw.rejected_records where error like '%hunter2%'") == [
        (0,)
    ]
    assert second.ok and second.new == 0  # reported once, not every night


def test_an_array_of_events_loads_its_elements_and_blank_ids_are_rejected(
    tmp_path: Path,
) -> None:
    r = records(3)
    blank = orjson.dumps(event("   ", "2026-11-02T08:00:09.000Z"))
    number = event("n1", "2026-11-02T08:00:10.000Z")
    number["CurrentAgentSnapshot"]["Configuration"]["FirstName"] = 1e2
    array = b"[" + r[0] + b",\n " + r[1] + b"," + blank + b"]"
    src, wh = tmp_path / "s", tmp_path / "w.duckdb"
    src.mkdir()
    (src / "array.json").write_bytes(array)
    (src / "more.json").write_bytes(r[2] + orjson.dumps(number).replace(b"100.0", b"1e2"))

    summary = ingest(src, wh)

    assert loaded_ids(wh) == {"e0", "e1", "e2", "n1"}
    assert query(wh, "select byte_offset from raw.agent_events where event_id = 'e1'") == [
        (1 + len(r[0]) + 3,)  # after "[", e0 and ",\n "
    ]
    [(offset, error, _)] = rejections(wh, "array.json")
    assert offset == array.index(blank) and error == "agent event lacks required field(s) EventId"
    assert query(
        wh,
        "select current_first_name, contains(record::varchar, '\"FirstName\":1e2')"
        " from raw.agent_events where event_id = 'n1'",
    ) == [("100.0", True)]  # a number in a text field: DuckDB's text for it; as sent in record
    assert summary.rejected_records == 1
