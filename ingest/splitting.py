"""Split an object's content into records: back to back (`}{`), one per line, or a JSON array."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import orjson

from ingest.reading import UTF8_BOM

BOUNDARY = re.compile(rb"}[ \t\r\n]*{")  # JSON's whitespace only (\s would also skip \f, \v)
WHITESPACE = b" \t\r\n"
# Whitespace and byte order marks before the first record are not part of any record.
LEADING = re.compile(rb"(?:[ \t\r\n]|" + UTF8_BOM + rb")*")
DOCUMENT_WINDOW = 16 * 1024  # bytes first tried when looking for where a JSON value ends
MAX_CONTINUATION = 3  # a UTF-8 character has at most three bytes after its first
# Splitting a damaged object hands the JSON parser at most this many times the object's size
# (plus WORK_ALLOWANCE bytes): the work stays linear in the object's size whatever its bytes.
WORK_FACTOR = 64
WORK_ALLOWANCE = 2**20


@dataclass(frozen=True)
class Split:
    """An object's content cut at its candidate record boundaries, not parsed yet."""

    key: str
    data: bytes
    spans: list[tuple[int, int]]
    recovered: bool = False

    @property
    def fast(self) -> bool:
        """Whether every candidate is one line of UTF-8 text from `{` to `}` (read as NDJSON)."""
        if not self.spans:
            return True
        first, last = self.spans[0][0], self.spans[-1][1]
        return (
            self.data[first : first + 1] == b"{"
            and self.data[last - 1 : last] == b"}"
            and _is_utf8(self.data)
            and all(self.data.find(b"\n", start, end) == -1 for start, end in self.spans)
        )


def split_object(data: bytes, key: str, recovered: bool = False) -> Split:
    """An object's content with its candidate record spans."""
    return Split(key, data, candidate_spans(data), recovered)


@dataclass(frozen=True)
class Piece:
    """A span of the content: a complete JSON value, or bytes that are not one (with why)."""

    start: int
    end: int
    error: str | None = None


class OverBudget(Exception):
    """Splitting an object took more work or time than it may."""


def candidate_spans(data: bytes) -> list[tuple[int, int]]:
    """Spans cut at every `}` `{` pair; right unless a string value itself holds `}{`."""
    start = LEADING.match(data).end()
    stop = len(data.rstrip(WHITESPACE))
    if start >= stop:
        return []
    spans = []
    for match in BOUNDARY.finditer(data, start, stop):
        spans.append((start, match.start() + 1))
        start = match.end() - 1
    spans.append((start, stop))
    return spans


def split_strictly(data: bytes, seconds: float = 600.0) -> list[Piece]:
    """Pieces of the content, each checked as JSON: in-string `}{` rejoined, bad bytes isolated.

    The work is bounded: past WORK_FACTOR times the object's size, or past `seconds`, the rest
    of the object becomes one bad piece that says so.
    """
    return _Splitter(data, time.monotonic() + seconds).pieces()


class _Splitter:
    """The strict split of one object, with its budget of parsing work."""

    def __init__(self, data: bytes, deadline: float) -> None:
        self.data = data
        self.view = memoryview(data)
        self.work_left = WORK_FACTOR * len(data) + WORK_ALLOWANCE
        self.deadline = deadline

    def pieces(self) -> list[Piece]:
        """Every piece of the content, in order."""
        spans = candidate_spans(self.data)
        if not spans:
            return []
        elements = self._array_elements(spans[0][0], spans[-1][1])
        if elements is not None:
            return elements
        span_ending_at = {end: j for j, (_, end) in enumerate(spans)}
        pieces: list[Piece] = []
        i = 0
        try:
            while i < len(spans):
                start, end = spans[i]
                if self._error(start, end) is None:
                    pieces.append(Piece(start, end))
                    i += 1
                    continue
                stop = self._document_end(start, len(self.data))  # `}{` inside a string?
                joined = None if stop is None else span_ending_at.get(stop)
                if joined is not None:
                    pieces.append(Piece(start, spans[joined][1]))
                    i = joined + 1
                    continue
                pieces.extend(self._isolate(start, end))
                i += 1
        except OverBudget as over:
            start = spans[i][0]
            pieces = [p for p in pieces if p.end <= start]
            pieces.append(Piece(start, spans[-1][1], f"{over} (bytes {start} to the end)"))
        return pieces

    def _spend(self, size: int) -> None:
        """Count size bytes of parsing against the budget; raise OverBudget when it is spent."""
        self.work_left -= size
        if self.work_left < 0:
            raise OverBudget(
                f"not split into records: damaged beyond what {WORK_FACTOR} passes over the "
                "object can sort out"
            )
        if time.monotonic() > self.deadline:
            raise OverBudget("not split into records: splitting took longer than allowed")

    def _error(self, start: int, stop: int) -> orjson.JSONDecodeError | None:
        """orjson's error for the bytes from start to stop, or None if they are one JSON value."""
        self._spend(stop - start)
        try:
            orjson.loads(self.view[start:stop])
        except orjson.JSONDecodeError as exc:
            return exc
        return None

    def _array_elements(self, start: int, stop: int) -> list[Piece] | None:
        """The elements of a content that is one JSON array, or None if it is not one."""
        if self.data[start : start + 1] != b"[" or self._error(start, stop) is not None:
            return None
        pieces = []
        at = _skip_whitespace(self.data, start + 1)
        while self.data[at : at + 1] != b"]":
            end = self._document_end(at, stop)
            assert end is not None  # the whole array is valid JSON
            pieces.append(Piece(at, end))
            at = _skip_whitespace(self.data, end)
            at = _skip_whitespace(self.data, at + 1) if self.data[at : at + 1] == b"," else at
        return pieces

    def _isolate(self, start: int, end: int) -> list[Piece]:
        """A bad span cut into its complete records and the bad bytes around them."""
        pieces: list[Piece] = []
        bad_from = at = start
        while (at := self.data.find(b"{", at, end)) != -1:
            stop = self._document_end(at, end)
            if stop is not None and (at == start or _looks_like_event(self.view[at:stop])):
                pieces.extend(_bad(self.data, bad_from, at))
                pieces.append(Piece(at, stop))
                bad_from = at = stop
            else:
                at += 1
        pieces.extend(_bad(self.data, bad_from, end))
        return pieces

    def _document_end(self, start: int, end: int) -> int | None:
        """Where the JSON value starting at start ends, if one complete value starts there.

        orjson checks a whole buffer's UTF-8 before it parses, so the value is tried in windows
        of growing size: the work stays in proportion to the value, not to what follows it.
        """
        size = DOCUMENT_WINDOW
        while True:
            stop = min(end, start + size)
            if stop < end:
                stop = _char_start(self.data, stop)
            exc = self._error(start, stop)
            if exc is None:
                return start + len(self.data[start:stop].rstrip(WHITESPACE))
            if exc.msg.startswith("unexpected content after document"):
                return _value_stop(self.data, start, exc.pos)
            if "not valid UTF-8" in exc.msg:
                valid = _valid_utf8_prefix(self.data, start, stop)
                if valid == 0 or start + valid >= end:
                    return None
                end = start + valid  # only the valid text before the bad byte can hold the value
                continue
            if exc.msg.startswith("unexpected end of data") and stop < end:
                size *= 4
                continue
            return None


def _skip_whitespace(data: bytes, at: int) -> int:
    """The first position from at that is not JSON whitespace."""
    while data[at : at + 1] in (b" ", b"\t", b"\r", b"\n"):
        at += 1
    return at


def _bad(data: bytes, start: int, end: int) -> list[Piece]:
    """The bytes between start and end as one bad piece, unless they are only whitespace."""
    chunk = data[start:end]
    stripped = chunk.lstrip(WHITESPACE).rstrip(WHITESPACE)
    if not stripped:
        return []
    start += len(chunk) - len(chunk.lstrip(WHITESPACE))
    error = json_error(stripped, start) or "JSON value is not an agent event object"
    return [Piece(start, start + len(stripped), error)]


def _char_start(data: bytes, pos: int) -> int:
    """pos, moved back if needed so that it does not cut a valid UTF-8 character in two."""
    for back in range(MAX_CONTINUATION + 1):
        if data[pos - back] & 0xC0 != 0x80:
            return pos - back if data[pos - back] >= 0xC0 else pos
    return pos  # a run of continuation bytes: not UTF-8, which the parser reports


def _is_utf8(data: bytes) -> bool:
    """Whether the bytes are valid UTF-8 text."""
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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


def _looks_like_event(chunk: memoryview) -> bool:
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
