"""Property-based fuzzing of decompress -> split -> parse: nothing hangs, raises or goes missing.

`make test` runs a fixed, derandomised set of examples; `make fuzz` runs random ones for ten
minutes (HYPOTHESIS_PROFILE=fuzz). Inputs that once broke the ingest are kept as @example.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import orjson
import polars as pl
import pytest
from helpers import event
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.loading import ArrowStream
from ingest.parsing import Rejection, connect_parser, parse_batch
from ingest.reading import UnreadableObject, decompress, unwrap_error_output
from ingest.splitting import WHITESPACE, split_object

MAX_BYTES = 4 * 2**20
settings.register_profile(
    "default",
    max_examples=700,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "fuzz",
    max_examples=1_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]  # a hang fails instead of stalling


def _records() -> list[bytes]:
    """Six real-shaped agent events, some with non-ASCII text."""
    records = [event(f"e{i}", f"2026-11-02T08:00:0{i}.000Z") for i in range(6)]
    records[2]["CurrentAgentSnapshot"]["Configuration"]["FirstName"] = "Zoë “Ω” 😀"
    return [orjson.dumps(r) for r in records]


RECORDS = _records()
SEPARATORS = [b"", b"\n", b"", b"\r\n", b" ", b""]


def _object() -> tuple[bytes, list[int]]:
    """The records back to back (some with whitespace between) and where each starts."""
    data, offsets = b"", []
    for record, sep in zip(RECORDS, SEPARATORS, strict=True):
        offsets.append(len(data))
        data += record + sep
    return data, offsets


OBJECT, OFFSETS = _object()


@dataclass(frozen=True)
class Outcome:
    """What the ingest made of one object: the content read, records loaded, rejections."""

    content: bytes
    events: pl.DataFrame
    rejections: list[Rejection]
    damaged: bool = False  # the object's compressed stream is damaged: the rest is lost


@pytest.fixture(scope="module")
def parser() -> Iterator[duckdb.DuckDBPyConnection]:
    """The ingest's own in-memory DuckDB parser."""
    with connect_parser() as con:
        yield con


def _ingest(con: duckdb.DuckDBPyConnection, data: bytes) -> Outcome:
    """One object through the ingest's stages, as the pipeline runs them."""
    try:
        content = decompress(data, MAX_BYTES)
    except UnreadableObject as exc:
        return Outcome(b"", pl.DataFrame(), [Rejection("k", None, str(exc), data)])
    damage = (
        [] if content.damage is None else [Rejection("k", content.damaged_at, content.damage, None)]
    )
    text = unwrap_error_output(content.data)
    parsed = parse_batch(con, [split_object(content.data if text is None else text, "k")])
    return Outcome(content.data, parsed.events, damage + parsed.rejections, bool(damage))


def _check_everything_accounted_for(out: Outcome, con: duckdb.DuckDBPyConnection) -> None:
    """Loaded records are exact, valid JSON for DuckDB; every other byte is in a rejection."""
    covered = bytearray(len(out.content))
    for offset, text, event_id in _loaded(out):
        raw = text.encode()
        assert out.content[offset : offset + len(raw)] == raw
        assert orjson.loads(raw)["EventId"] == event_id
        covered[offset : offset + len(raw)] = b"\x01" * len(raw)
    for r in out.rejections:
        assert r.error and r.error[0].isalpha() and len(r.error) > 10
        if r.payload is not None and r.byte_offset is not None:
            assert out.content[r.byte_offset : r.byte_offset + len(r.payload)] == r.payload
            covered[r.byte_offset : r.byte_offset + len(r.payload)] = b"\x01" * len(r.payload)
    if out.rejections and any(r.byte_offset is None for r in out.rejections):
        return  # rejected whole
    if out.damaged:
        return  # the bytes after the damage are named by it
    lost = [i for i, c in enumerate(covered) if not c and out.content[i] not in WHITESPACE]
    lost = [i for i in lost if not _in_leading_marks(out.content, i)]
    if _is_array(out.content):  # its brackets and commas hold the records together
        lost = [i for i in lost if out.content[i] not in b"[],"]
    assert not lost, f"bytes {lost[:5]}... neither loaded nor rejected"
    if out.events.height:
        con.register("loaded", ArrowStream(out.events.select("record", "EventId")))
        try:
            same = con.execute(
                "select bool_and(json_extract_string(record::json, '$.EventId') = EventId)"
                " from loaded"
            ).fetchall()
        finally:
            con.unregister("loaded")
        assert same == [(True,)]


def _loaded(out: Outcome) -> list[tuple[int, str, str]]:
    """Offset, text and EventId of every loaded record."""
    if not out.events.height:
        return []
    return list(out.events.select("byte_offset", "record", "EventId").iter_rows())


def _is_array(content: bytes) -> bool:
    """Whether the content is one JSON array."""
    try:
        return isinstance(orjson.loads(content.lstrip(WHITESPACE + b"\xef\xbb\xbf")), list)
    except orjson.JSONDecodeError:
        return False


def _in_leading_marks(content: bytes, i: int) -> bool:
    """Whether byte i is in the whitespace and byte order marks before the first record."""
    head = len(content) - len(content.lstrip(WHITESPACE + b"\xef\xbb\xbf"))
    return i < head


def _mutate(data: bytes, op: str, at: int, size: int, byte: int) -> tuple[bytes, int, int]:
    """The data mutated, and the span [lo, hi) of the original that the mutation touched."""
    at %= len(data) + 1
    if op == "set":
        at = min(at, len(data) - 1)
        return data[:at] + bytes([byte]) + data[at + 1 :], at, at + 1
    if op == "insert":
        return data[:at] + bytes([byte]) * size + data[at:], at, at
    if op == "delete":
        return data[:at] + data[at + size :], at, at + size
    return data[:at], at, len(data)  # truncate


def _intact(lo: int, hi: int, shift: int) -> dict[int, bytes]:
    """The original records the mutation did not touch, by their offset after it."""
    intact = {}
    for offset, record in zip(OFFSETS, RECORDS, strict=True):
        end = offset + len(record)
        if end < lo or (end == lo and lo != hi):
            intact[offset] = record
        elif offset > hi or (offset == hi and lo != hi):
            intact[offset + shift] = record
    return intact


MUTATION = st.tuples(
    st.sampled_from(["set", "insert", "delete", "truncate"]),
    st.integers(0, len(OBJECT)),
    st.integers(1, 64),
    st.integers(0, 255),
)


@given(mutation=MUTATION)
@example(mutation=("set", 40, 1, 0x85))  # a UTF-8 continuation byte hung the splitter
@example(mutation=("set", 0, 1, 0))  # a NUL first made the whole object "binary"
@example(mutation=("set", OFFSETS[1] - 1, 1, 0x80))  # ... between two records too
@example(mutation=("insert", OFFSETS[3], 3, 0xEF))  # half a byte order mark before a record
@example(mutation=("set", OFFSETS[2] + 10, 1, 0xBF))
@example(mutation=("truncate", len(OBJECT) * 2 // 3, 1, 0))
def test_a_mutated_object_loads_every_intact_record(
    parser: duckdb.DuckDBPyConnection, mutation: tuple[str, int, int, int]
) -> None:
    data, lo, hi = _mutate(OBJECT, *mutation)
    out = _ingest(parser, data)

    loaded = {offset: text.encode() for offset, text, _ in _loaded(out)}
    for offset, record in _intact(lo, hi, len(data) - len(OBJECT)).items():
        assert loaded.get(offset) == record, f"intact record at {offset} not loaded as it was"
    _check_everything_accounted_for(out, parser)


@given(data=st.binary(max_size=4096))
@example(data=b'{"a":"\x85"}')
@example(data=b'{"a":1}\x80{"a":2}')
@example(data=b"\xef\xbb\xbf\xef\xbb\xbf" + RECORDS[0])
@example(data=b"\n\xef\xbb\xbf" + RECORDS[0])
@example(data=gzip.compress(gzip.compress(RECORDS[0])))
@example(data=b"[" + RECORDS[0] + b"," + RECORDS[1] + b"]")
def test_any_bytes_finish_with_everything_accounted_for(
    parser: duckdb.DuckDBPyConnection, data: bytes
) -> None:
    _check_everything_accounted_for(_ingest(parser, data), parser)


GZIP_OBJECT = gzip.compress(OBJECT, mtime=0)


@given(mutation=MUTATION)
@example(mutation=("truncate", len(GZIP_OBJECT) * 2 // 3, 1, 0))
@example(mutation=("set", len(GZIP_OBJECT) // 2, 1, 0x55))
@example(mutation=("insert", len(GZIP_OBJECT), 40, 0x20))  # trailing garbage
@example(mutation=("set", len(GZIP_OBJECT) - 6, 1, 0))  # the checksum
def test_a_damaged_gzip_object_loads_what_it_still_holds(
    parser: duckdb.DuckDBPyConnection, mutation: tuple[str, int, int, int]
) -> None:
    data, _, _ = _mutate(GZIP_OBJECT, *mutation)
    out = _ingest(parser, data)

    loaded = {offset: text.encode() for offset, text, _ in _loaded(out)}
    if OBJECT.startswith(out.content):  # what was read is a prefix of the original
        for offset, record in zip(OFFSETS, RECORDS, strict=True):
            if offset + len(record) <= len(out.content):
                assert loaded.get(offset) == record
    for offset, text in loaded.items():  # a changed record is only loaded from a damaged object
        assert out.damaged or (offset in OFFSETS and RECORDS[OFFSETS.index(offset)] == text)
    _check_everything_accounted_for(out, parser)
