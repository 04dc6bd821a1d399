"""Split an object's content into records: back to back (`}{`), newline-delimited or a mix."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from ingest.reading import UTF8_BOM

BOUNDARY = re.compile(rb"}[ \t\r\n]*{")  # JSON's whitespace only (\s would also skip \f, \v)
WHITESPACE = b" \t\r\n"
DOCUMENT_WINDOW = 16 * 1024  # bytes first tried when looking for where a JSON value ends


@dataclass(frozen=True)
class Split:
    """An object's content cut at its candidate record boundaries, not parsed yet."""

    key: str
    data: bytes
    spans: list[tuple[int, int]]
    recovered: bool = False

    @property
    def one_per_line(self) -> bool:
        """Whether no candidate record spans several lines (so they can be read as NDJSON)."""
        return all(self.data.find(b"\n", start, end) == -1 for start, end in self.spans)


def split_object(data: bytes, key: str, recovered: bool = False) -> Split:
    """An object's content with its candidate record spans."""
    return Split(key, data, candidate_spans(data), recovered)


@dataclass(frozen=True)
class Piece:
    """A span of the content: a complete JSON value, or bytes that are not one (with why)."""

    start: int
    end: int
    error: str | None = None


def candidate_spans(data: bytes) -> list[tuple[int, int]]:
    """Spans cut at every `}` `{` pair; right unless a string value itself holds `}{`."""
    start = len(data) - len(data.removeprefix(UTF8_BOM).lstrip(WHITESPACE))
    stop = len(data.rstrip(WHITESPACE))
    if start >= stop:
        return []
    spans = []
    for match in BOUNDARY.finditer(data, start, stop):
        spans.append((start, match.start() + 1))
        start = match.end() - 1
    spans.append((start, stop))
    return spans


def split_strictly(data: bytes) -> list[Piece]:
    """Pieces of the content, each checked as JSON: in-string `}{` rejoined, bad bytes isolated."""
    spans = candidate_spans(data)
    span_ending_at = {end: j for j, (_, end) in enumerate(spans)}
    pieces: list[Piece] = []
    i = 0
    while i < len(spans):
        start, end = spans[i]
        if json_error(data[start:end]) is None:
            pieces.append(Piece(start, end))
            i += 1
            continue
        stop = _document_end(data, start, len(data))  # a `}{` inside a string cut the record?
        joined = None if stop is None else span_ending_at.get(stop)
        if joined is not None:
            pieces.append(Piece(start, spans[joined][1]))
            i = joined + 1
            continue
        pieces.extend(_isolate(data, start, end))
        i += 1
    return pieces


def _isolate(data: bytes, start: int, end: int) -> list[Piece]:
    """A bad span cut into its complete records and the bad bytes around them."""
    pieces: list[Piece] = []
    bad_from = at = start
    while (at := data.find(b"{", at, end)) != -1:
        stop = _document_end(data, at, end)
        if stop is not None and (at == start or _looks_like_event(data[at:stop])):
            pieces.extend(_bad(data, bad_from, at))
            pieces.append(Piece(at, stop))
            bad_from = at = stop
        else:
            at += 1
    pieces.extend(_bad(data, bad_from, end))
    return pieces


def _bad(data: bytes, start: int, end: int) -> list[Piece]:
    """The bytes between start and end as one bad piece, unless they are only whitespace."""
    chunk = data[start:end]
    stripped = chunk.lstrip(WHITESPACE).rstrip(WHITESPACE)
    if not stripped:
        return []
    start += len(chunk) - len(chunk.lstrip(WHITESPACE))
    error = json_error(stripped, start) or "JSON value is not an agent event object"
    return [Piece(start, start + len(stripped), error)]


def _document_end(data: bytes, start: int, end: int) -> int | None:
    """Where the JSON value starting at start ends, if one complete value starts there.

    orjson checks a whole buffer's UTF-8 before it parses, so the value is tried in windows
    of growing size: the work stays in proportion to the value, not to what follows it.
    """
    size = DOCUMENT_WINDOW
    while True:
        stop = _char_start(data, min(end, start + size), start)
        try:
            orjson.loads(memoryview(data)[start:stop])
        except orjson.JSONDecodeError as exc:
            if exc.msg.startswith("unexpected content after document"):
                return _value_stop(data, start, exc.pos)
            if "not valid UTF-8" in exc.msg:
                valid = _valid_utf8_prefix(data, start, stop)
                return _document_end(data, start, start + valid) if valid else None
            if exc.msg.startswith("unexpected end of data") and stop < end:
                size *= 4
                continue
            return None
        return start + len(data[start:stop].rstrip(WHITESPACE))


def _char_start(data: bytes, pos: int, floor: int) -> int:
    """pos, moved back if needed so that it does not cut a UTF-8 character in two."""
    while floor < pos < len(data) and data[pos] & 0xC0 == 0x80:
        pos -= 1
    return pos


def _valid_utf8_prefix(data: bytes, start: int, stop: int) -> int:
    """How many bytes from start are valid UTF-8, up to stop."""
    try:
        data[start:stop].decode("utf-8")
    except UnicodeDecodeError as bad:
        return bad.start
    return stop - start


def _value_stop(data: bytes, start: int, char_pos: int) -> int:
    """Where a JSON value starting at start ends, from orjson's position of what follows it."""
    stop = start + _byte_pos(data[start : start + 4 * char_pos], char_pos)
    return start + len(data[start:stop].rstrip(WHITESPACE))


def _looks_like_event(chunk: bytes) -> bool:
    """Whether a JSON value is an object with an agent event's identifying keys."""
    value = orjson.loads(chunk)
    return isinstance(value, dict) and ("EventId" in value or "AgentARN" in value)


def json_error(chunk: bytes, offset: int | None = None) -> str | None:
    """Why a chunk is not one JSON value, placed at its absolute byte offset; None if it is."""
    try:
        orjson.loads(chunk)
    except orjson.JSONDecodeError as exc:
        if "not valid UTF-8" in exc.msg:  # orjson places this error at the record's start
            try:
                bytes(chunk).decode("utf-8")
            except UnicodeDecodeError as bad:
                before = chunk[: bad.start]
                earlier = json_error(before, offset) if before.strip(WHITESPACE) else None
                if earlier is not None and "unexpected end of data" not in earlier:
                    return earlier  # a syntax error before the bad byte comes first
                where = bad.start + (offset or 0)
                return f"invalid JSON: byte {where} (0x{chunk[bad.start]:02x}) is not UTF-8 text"
        pos = _byte_pos(chunk, exc.pos)
        where = pos + (offset or 0)
        found = chunk[pos : pos + 1].decode("utf-8", "replace")
        shown = f", found {found!r}" if found else ""
        return (
            f"invalid JSON: {exc.msg} at byte {where} "
            f"(line {exc.lineno}, column {exc.colno} of the record){shown}"
        )
    return None


def _byte_pos(chunk: bytes, char_pos: int) -> int:
    """The byte offset of orjson's character position in a UTF-8 chunk."""
    if chunk.isascii():
        return char_pos
    return len(chunk.decode("utf-8", "replace")[:char_pos].encode())
