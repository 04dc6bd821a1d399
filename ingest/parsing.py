"""Parse records into a nested Polars frame of an explicit schema; bad ones become rejections.

DuckDB's JSON reader does the parsing (it is several times faster than Polars' on this
deeply nested shape); the schema it is given is the Polars schema below, never inferred.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb
import orjson
import polars as pl

from ingest.config import PARSER_DUCKDB_CONFIG, SPLIT_SECONDS
from ingest.splitting import Split, json_error, split_strictly

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"
REQUIRED = ("EventId", "EventType", "EventTimestamp", "AgentARN")
# What the reader raises on bad JSON: DuckDB's error, or, past the first chunk of rows, the same
# error wrapped by Polars as it streams the result in.
READ_ERRORS = (duckdb.Error, pl.exceptions.ComputeError)
# The most JSON text one read is given: a large object is read in parts, within the parser's
# memory limit.
READ_BYTES = 24 * 2**20

_NAMED = pl.Struct({"ARN": pl.String, "Name": pl.String})
_QUEUE = pl.Struct({"ARN": pl.String, "Name": pl.String, "Channels": pl.List(pl.String)})
SNAPSHOT = pl.Struct(
    {
        "AgentStatus": pl.Struct(
            {"ARN": pl.String, "Name": pl.String, "StartTimestamp": pl.String, "Type": pl.String}
        ),
        "NextAgentStatus": pl.Struct(
            {
                "ARN": pl.String,
                "Name": pl.String,
                "EnqueuedTimestamp": pl.String,
                "EnqueueTimestamp": pl.String,
            }
        ),
        "Configuration": pl.Struct(
            {
                "Username": pl.String,
                "FirstName": pl.String,
                "LastName": pl.String,
                "AgentHierarchyGroups": pl.Struct({f"Level{n}": _NAMED for n in range(1, 6)}),
                "RoutingProfile": pl.Struct(
                    {
                        "ARN": pl.String,
                        "Name": pl.String,
                        "Concurrency": pl.List(
                            pl.Struct(
                                {
                                    "Channel": pl.String,
                                    "AvailableSlots": pl.Int32,
                                    "MaximumSlots": pl.Int32,
                                }
                            )
                        ),
                        "DefaultOutboundQueue": _QUEUE,
                        "InboundQueues": pl.List(_QUEUE),
                    }
                ),
            }
        ),
        "Contacts": pl.List(
            pl.Struct(
                {
                    "ContactId": pl.String,
                    "InitialContactId": pl.String,
                    "Channel": pl.String,
                    "InitiationMethod": pl.String,
                    "State": pl.String,
                    "StateStartTimestamp": pl.String,
                    "ConnectedToAgentTimestamp": pl.String,
                    "QueueTimestamp": pl.String,
                    "Queue": _NAMED,
                }
            )
        ),
    }
)
EVENT_SCHEMA = {
    "AWSAccountId": pl.String,
    "AgentARN": pl.String,
    "InstanceARN": pl.String,
    "EventId": pl.String,
    "EventTimestamp": pl.String,
    "EventType": pl.String,
    "Version": pl.String,
    "CurrentAgentSnapshot": SNAPSHOT,
    "PreviousAgentSnapshot": SNAPSHOT,
}


def duckdb_type(dtype: pl.DataType) -> str:
    """The DuckDB type of a Polars type of the event schema."""
    if isinstance(dtype, pl.Struct):
        fields = ", ".join(f'"{f.name}" {duckdb_type(f.dtype)}' for f in dtype.fields)
        return f"STRUCT({fields})"
    if isinstance(dtype, pl.List):
        return f"{duckdb_type(dtype.inner)}[]"
    return {pl.String: "VARCHAR", pl.Int32: "INTEGER"}[dtype]


DUCKDB_COLUMNS = {name: duckdb_type(dtype) for name, dtype in EVENT_SCHEMA.items()}


def json_structure(dtype: pl.DataType) -> object:
    """The structure that DuckDB's json_transform takes for a Polars type of the event schema."""
    if isinstance(dtype, pl.Struct):
        return {f.name: json_structure(f.dtype) for f in dtype.fields}
    if isinstance(dtype, pl.List):
        return [json_structure(dtype.inner)]
    return {pl.String: "VARCHAR", pl.Int32: "INTEGER"}[dtype]


@dataclass(frozen=True)
class Rejection:
    """A record or object that could not be loaded, with where it was and why."""

    source_object: str
    byte_offset: int | None
    error: str
    payload: bytes | None


@dataclass(frozen=True)
class Parsed:
    """Good records as a nested frame (with source_object, byte_offset, record), and rejections."""

    events: pl.DataFrame
    rejections: list[Rejection]
    new_fields: dict[str, int] = field(default_factory=dict)


def connect_parser() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for the JSON reader, kept for a whole run."""
    return duckdb.connect(config=PARSER_DUCKDB_CONFIG)


def parse_batch(con: duckdb.DuckDBPyConnection, splits: list[Split]) -> Parsed:
    """The agent events of several objects: one read when all is well, precise where not."""
    fast, slow = [], []
    for split in splits:
        (fast if split.fast else slow).append(split)
    parts = _parse_fast(con, fast) if fast else []
    parts += [_parse_precisely(con, s) for s in slow]
    events = pl.concat([p.events for p in parts]) if parts else _with_provenance(_empty(), [])
    strict = _strict_json(events)
    checked = _validated(strict.events)
    rejections = [r for p in parts for r in p.rejections] + strict.rejections + checked.rejections
    return Parsed(checked.events, rejections, new_fields(checked.events))


def new_fields(events: pl.DataFrame) -> dict[str, int]:
    """Fields the schema does not know, found in each object's first record; records naming them.

    Connect adds fields to every record from some day on, so one record per object finds
    them; the count is of the records whose text names the field's key.
    """
    firsts = events.unique("source_object", keep="first", maintain_order=True)
    paths: set[str] = set()
    for text in firsts.get_column("record"):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:  # JSON beyond orjson's range, such as 1e999
            continue
        paths |= _unknown_paths(value, pl.Struct(EVENT_SCHEMA), "")
    records = events.get_column("record")
    return {
        path: records.str.contains(f'"{path.rsplit(".", 1)[-1]}":', literal=True).sum()
        for path in sorted(paths)
    }


def _unknown_paths(value: object, dtype: pl.DataType, prefix: str) -> set[str]:
    """Dotted paths of the keys in a JSON value that its schema type does not have."""
    if isinstance(dtype, pl.List) and isinstance(value, list):
        return set().union(*(_unknown_paths(item, dtype.inner, prefix) for item in value))
    if not (isinstance(dtype, pl.Struct) and isinstance(value, dict)):
        return set()
    known = {f.name: f.dtype for f in dtype.fields}
    found = set()
    for key, item in value.items():
        path = f"{prefix}{key}"
        found |= _unknown_paths(item, known[key], f"{path}.") if key in known else {path}
    return found


def _parse_fast(con: duckdb.DuckDBPyConnection, splits: list[Split]) -> list[Parsed]:
    """Objects read together as NDJSON; a group that fails is halved until the culprit is alone."""
    lines = [memoryview(s.data)[a:b] for s in splits for a, b in s.spans]
    frame = _read_lines(con, lines)
    if frame is not None:
        return [Parsed(_with_provenance(frame, splits), [])]
    if len(splits) == 1:
        return [_parse_precisely(con, splits[0])]
    middle = len(splits) // 2
    return _parse_fast(con, splits[:middle]) + _parse_fast(con, splits[middle:])


def _parse_precisely(con: duckdb.DuckDBPyConnection, split: Split) -> Parsed:
    """Record-by-record parse of one object: every bad record rejected with reason and offset."""
    key, data = split.key, split.data
    rejections: list[Rejection] = []
    good: list[tuple[int, int, bytes]] = []
    for piece in split_strictly(data, SPLIT_SECONDS):
        payload = data[piece.start : piece.end]
        if piece.error is not None:
            rejections.append(Rejection(key, piece.start, piece.error, payload))
            continue
        value = orjson.loads(payload)
        if isinstance(value, dict):
            good.append((piece.start, piece.end, orjson.dumps(value)))
            continue
        kind = {"list": "an array", "str": "a string"}.get(type(value).__name__, "a scalar")
        error = f"JSON value is {kind}, not an agent event object"
        rejections.append(Rejection(key, piece.start, error, payload))
    frame = _read_lines(con, [compact for _, _, compact in good])
    if frame is None:
        frame, misfits = _read_one_by_one(con, key, data, good)
        rejections += misfits
        good = [g for g in good if g[0] not in {m.byte_offset for m in misfits}]
    spans = [(start, end) for start, end, _ in good]
    return Parsed(_with_provenance(frame, [Split(key, data, spans, split.recovered)]), rejections)


def _read_one_by_one(
    con: duckdb.DuckDBPyConnection, key: str, data: bytes, good: list[tuple[int, int, bytes]]
) -> tuple[pl.DataFrame, list[Rejection]]:
    """Each record read alone: the frame of those that fit the schema, and the misfits."""
    frames, misfits = [], []
    for start, end, compact in good:
        single = _read_lines(con, [compact])
        if single is None:
            error = f"record does not fit the agent-event schema: {_schema_error(con, compact)}"
            misfits.append(Rejection(key, start, error, data[start:end]))
        else:
            frames.append(single)
    return (pl.concat(frames) if frames else _empty()), misfits


def _read_lines(
    con: duckdb.DuckDBPyConnection, lines: list[bytes] | list[memoryview]
) -> pl.DataFrame | None:
    """One-line JSON records as a nested frame, or None if any does not parse or fit."""
    frames = []
    try:
        for chunk in _chunks(lines, READ_BYTES):
            frames.append(_read(con, b"\n".join(chunk)))
    except READ_ERRORS:  # bad JSON, or a record too big for the parser's memory
        return None
    return pl.concat(frames) if frames else _empty()


def _chunks(
    lines: list[bytes] | list[memoryview], max_bytes: int
) -> Iterator[list[bytes] | list[memoryview]]:
    """Consecutive lines in chunks of about max_bytes, so that one read's memory is bounded."""
    start = size = 0
    for i, line in enumerate(lines):
        size += len(line) + 1
        if size >= max_bytes:
            yield lines[start : i + 1]
            start, size = i + 1, 0
    if start < len(lines):
        yield lines[start:]


def _read(con: duckdb.DuckDBPyConnection, ndjson: bytes) -> pl.DataFrame:
    """NDJSON bytes read with the event schema."""
    relation = con.read_json(io.BytesIO(ndjson), format="newline_delimited", columns=DUCKDB_COLUMNS)
    return pl.DataFrame(relation)


def _schema_error(con: duckdb.DuckDBPyConnection, line: bytes) -> str:
    """The reader's complaint about one record, without its internal file name."""
    try:
        _read(con, line)
    except READ_ERRORS as exc:
        return str(exc).split(" in line 1: ", 1)[-1].strip().splitlines()[0]
    return "unknown schema error"


def _empty() -> pl.DataFrame:
    """A frame with the event schema and no rows."""
    return pl.DataFrame(schema=EVENT_SCHEMA)


def _with_provenance(frame: pl.DataFrame, splits: list[Split]) -> pl.DataFrame:
    """The frame with each record's object, byte offset and text as received."""
    return frame.with_columns(
        source_object=pl.Series([s.key for s in splits for _ in s.spans], dtype=pl.String),
        byte_offset=pl.Series([a for s in splits for a, _ in s.spans], dtype=pl.Int64),
        record=pl.Series(
            [s.data[a:b].decode("utf-8", "replace") for s in splits for a, b in s.spans],
            dtype=pl.String,
        ),
        recovered_from_error_output=pl.Series(
            [s.recovered for s in splits for _ in s.spans], dtype=pl.Boolean
        ),
    )


def _strict_json(events: pl.DataFrame) -> Parsed:
    """Events whose text is standard JSON with no key twice in one object; the others rejected.

    DuckDB's reader also takes NaN, Infinity, trailing commas and a byte order mark, and keeps
    the last of two equal keys where its JSON functions take the first. orjson, which is strict,
    reads every record again; a record that orjson writes back byte for byte (compact JSON, as
    Connect sends) has no key twice, and the few others are looked at key by key.
    """
    rejections: list[Rejection] = []
    for key, offset, text in events.select("source_object", "byte_offset", "record").iter_rows():
        try:
            if orjson.dumps(orjson.loads(text)) == text.encode():
                continue
        except orjson.JSONDecodeError:
            payload = text.encode()
            error = json_error(payload, offset)
            if error is not None and "number is infinity" not in error:  # 1e400 is JSON
                rejections.append(Rejection(key, offset, error, payload))
                continue
        twice = _duplicate_key(text)
        if twice is not None:
            error = f"JSON object has the key {twice!r} twice, so its value is ambiguous"
            rejections.append(Rejection(key, offset, error, text.encode()))
    if not rejections:
        return Parsed(events, [])
    bad = pl.DataFrame(
        [(r.source_object, r.byte_offset) for r in rejections],
        schema={"source_object": pl.String, "byte_offset": pl.Int64},
        orient="row",
    )
    kept = events.join(bad, on=["source_object", "byte_offset"], how="anti", maintain_order="left")
    return Parsed(kept, rejections)


def _duplicate_key(text: str) -> str | None:
    """The first key found twice in one object of a JSON text, if any."""
    found: list[str] = []

    def pairs(items: list[tuple[str, object]]) -> dict:
        keys = [k for k, _ in items]
        found.extend(k for i, k in enumerate(keys) if k in keys[:i])
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return found[0] if found else None


def parse_timestamp(text: pl.Expr) -> pl.Expr:
    """An RFC 3339 timestamp (`T`/`t`/space, `Z`/`z`) as a UTC instant; null if unreadable."""
    normal = text.str.to_uppercase().str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T")
    return normal.str.to_datetime(TIMESTAMP_FORMAT, time_unit="ms", time_zone="UTC", strict=False)


def _validated(events: pl.DataFrame) -> Parsed:
    """Events with required fields and a readable EventTimestamp; the others rejected."""
    checked = events.with_columns(event_timestamp=parse_timestamp(pl.col("EventTimestamp")))
    missing = pl.concat_str(
        [
            pl.when(pl.col(name).fill_null("").str.strip_chars() == "").then(pl.lit(name))
            for name in REQUIRED
        ],
        separator=", ",
        ignore_nulls=True,
    )
    bad_time = pl.col("EventTimestamp").is_not_null() & pl.col("event_timestamp").is_null()
    checked = checked.with_columns(_missing=missing, _bad_time=bad_time)
    invalid = (pl.col("_missing") != "") | pl.col("_bad_time")
    rejections = [_rejection(row) for row in checked.filter(invalid).iter_rows(named=True)]
    good = checked.filter(~invalid).drop("_missing", "_bad_time")
    return Parsed(good, rejections)


def _rejection(row: dict) -> Rejection:
    """The rejection of a parsed record that is not a usable agent event."""
    missing = row["_missing"]
    if missing and len(missing.split(", ")) == len(REQUIRED):
        error = f"JSON object is not an agent event: it has none of {', '.join(REQUIRED)}"
    elif missing:
        error = f"agent event lacks required field(s) {missing}"
    else:
        error = f"EventTimestamp {row['EventTimestamp']!r} is not an ISO 8601 timestamp"
    return Rejection(row["source_object"], row["byte_offset"], error, row["record"].encode())
