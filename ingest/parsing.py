"""Parse records into a nested Polars frame with an explicit schema; bad ones become rejections."""

from __future__ import annotations

import io
from dataclasses import dataclass

import orjson
import polars as pl

from ingest.splitting import Piece, candidate_spans, split_strictly

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"
REQUIRED = ("EventId", "EventType", "EventTimestamp", "AgentARN")

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


@dataclass(frozen=True)
class Rejection:
    """A record or object that could not be loaded, with where it was and why."""

    source_object: str
    byte_offset: int | None
    error: str
    payload: bytes | None


@dataclass(frozen=True)
class Parsed:
    """An object's good records as a nested frame, and its rejections."""

    events: pl.DataFrame
    rejections: list[Rejection]


def parse_object(data: bytes, key: str) -> Parsed:
    """The agent events of one object's content; fast when all is well, precise when not."""
    spans = candidate_spans(data)
    lines = [data[start:end] for start, end in spans]
    one_per_line = not any(b"\n" in line for line in lines)
    frame = _read_lines(lines) if one_per_line else None
    if frame is not None:
        offsets = [start for start, _ in spans]
        return _validated(_with_provenance(frame, offsets, lines), key)
    return _parse_precisely(data, key)


def _parse_precisely(data: bytes, key: str) -> Parsed:
    """Record-by-record parse: every bad record rejected with its reason and offset."""
    rejections: list[Rejection] = []
    frames: list[pl.DataFrame] = []
    good: list[tuple[Piece, bytes]] = []
    for piece in split_strictly(data):
        payload = data[piece.start : piece.end]
        if piece.error is not None:
            rejections.append(Rejection(key, piece.start, piece.error, payload))
            continue
        value = orjson.loads(payload)
        if not isinstance(value, dict):
            kind = type(value).__name__.replace("str", "string").replace("dict", "object")
            error = f"JSON value is a {kind}, not an agent event object"
            rejections.append(Rejection(key, piece.start, error, payload))
            continue
        good.append((piece, orjson.dumps(value)))
    frame = _read_lines([compact for _, compact in good])
    if frame is not None:
        frames.append(_with_provenance(frame, [p.start for p, _ in good], _originals(data, good)))
    else:
        for piece, compact in good:
            single = _read_lines([compact])
            payload = data[piece.start : piece.end]
            if single is None:
                error = f"record does not fit the agent-event schema: {_schema_error(compact)}"
                rejections.append(Rejection(key, piece.start, error, payload))
            else:
                frames.append(_with_provenance(single, [piece.start], [payload]))
    events = pl.concat(frames) if frames else _empty()
    parsed = _validated(events, key)
    everything = sorted(rejections + parsed.rejections, key=lambda r: r.byte_offset or 0)
    return Parsed(parsed.events, everything)


def _originals(data: bytes, good: list[tuple[Piece, bytes]]) -> list[bytes]:
    """The records' bytes as received."""
    return [data[p.start : p.end] for p, _ in good]


def _read_lines(lines: list[bytes]) -> pl.DataFrame | None:
    """One-line JSON records as a nested frame, or None if any does not parse or fit."""
    if not lines:
        return _empty()
    try:
        return pl.read_ndjson(io.BytesIO(b"\n".join(lines)), schema=EVENT_SCHEMA)
    except (pl.exceptions.PolarsError, ValueError):
        return None


def _schema_error(line: bytes) -> str:
    """Polars' first line of complaint about one record."""
    try:
        pl.read_ndjson(io.BytesIO(line), schema=EVENT_SCHEMA)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        return str(exc).strip().splitlines()[0]
    return "unknown schema error"


def _empty() -> pl.DataFrame:
    """A frame with the event schema and no rows."""
    return pl.DataFrame(schema=EVENT_SCHEMA)


def _with_provenance(frame: pl.DataFrame, offsets: list[int], records: list[bytes]) -> pl.DataFrame:
    """The frame with each record's byte offset and its text as received."""
    texts = [record.decode("utf-8", "replace") for record in records]
    return frame.with_columns(
        byte_offset=pl.Series(offsets, dtype=pl.Int64),
        record=pl.Series(texts, dtype=pl.String),
    )


def _validated(events: pl.DataFrame, key: str) -> Parsed:
    """Events with required fields and a readable EventTimestamp; the others rejected."""
    checked = events.with_columns(
        event_timestamp=pl.col("EventTimestamp").str.to_datetime(
            TIMESTAMP_FORMAT, time_unit="ms", time_zone="UTC", strict=False
        )
    )
    problem = pl.concat_str(
        [pl.when(pl.col(name).is_null()).then(pl.lit(name)).otherwise(None) for name in REQUIRED],
        separator=", ",
        ignore_nulls=True,
    )
    bad_time = pl.col("EventTimestamp").is_not_null() & pl.col("event_timestamp").is_null()
    checked = checked.with_columns(_missing=problem, _bad_time=bad_time)
    invalid = (pl.col("_missing") != "") | pl.col("_bad_time")
    bad = checked.filter(invalid)
    rejections = [_rejection(row, key) for row in bad.iter_rows(named=True)]
    good = checked.filter(~invalid).drop("_missing", "_bad_time")
    return Parsed(good, rejections)


def _rejection(row: dict, key: str) -> Rejection:
    """The rejection of a parsed record that is not a usable agent event."""
    missing = row["_missing"]
    if missing and len(missing.split(", ")) == len(REQUIRED):
        error = f"JSON object is not an agent event: it has none of {', '.join(REQUIRED)}"
    elif missing:
        error = f"agent event lacks required field(s) {missing}"
    else:
        error = f"EventTimestamp {row['EventTimestamp']!r} is not an ISO 8601 timestamp"
    return Rejection(key, row["byte_offset"], error, row["record"].encode())
