"""Firehose delivery: arrival delays, duplicate deliveries, buffered objects under dated keys."""

from __future__ import annotations

import gzip
import heapq
import random
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ingest.sample.ids import (
    _MINUTE,
    _SECOND,
    _uuid,
    iso_ms,
)

STREAM_NAME = "connect-agent-events"
BUFFER_MS = 300_000
BUFFER_BYTES = 5 * 1024 * 1024
MAX_ARRIVAL_DELAY_MS = 60_000
DUPLICATE_RATE = 0.005
_WRITERS = 1


# ---------------------------------------------------------------------------- Firehose objects


def _as_bytes(record: bytes | dict) -> bytes:
    """A record as its JSON bytes."""
    return record if isinstance(record, bytes) else orjson.dumps(record)


def write_object(
    path: Path,
    records: list[bytes] | list[dict],
    *,
    delimiter: bytes = b"",
    gzip_object: bool = True,
) -> None:
    """Write one Firehose object: records back to back (each followed by delimiter), maybe gzip."""
    data = b"".join(_as_bytes(r) + delimiter for r in records)
    if gzip_object:
        data = gzip.compress(data, compresslevel=1, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def object_key(first_arrival_ms: int, object_id: str, *, gzip_object: bool = True) -> str:
    """The Firehose key of an object whose oldest record arrived at first_arrival_ms."""
    t = iso_ms(first_arrival_ms)
    folder = f"{t[0:4]}/{t[5:7]}/{t[8:10]}/{t[11:13]}"
    stamp = f"{t[0:10]}-{t[11:13]}-{t[14:16]}-{t[17:19]}"
    suffix = ".gz" if gzip_object else ""
    return f"{folder}/{STREAM_NAME}-1-{stamp}-{object_id}{suffix}"


# ---------------------------------------------------------------------------- Firehose delivery


@dataclass
class _Delivery:
    """Firehose buffering: arrival delays, duplicate deliveries, 5-minute / 5 MB objects."""

    dest: Path
    rng: random.Random
    delimiter: bytes
    gzip_objects: bool
    pending: list[tuple[int, int, bytes]] = field(default_factory=list)
    buffer: list[bytes] = field(default_factory=list)
    buffer_start: int = 0
    buffer_bytes: int = 0
    seq: int = 0
    objects: int = 0
    events: int = 0
    duplicates: int = 0
    writer: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(_WRITERS))
    writing: deque[Future[None]] = field(default_factory=deque)

    def accept(self, event_ms: int, record: bytes) -> None:
        """Take one published event; deliver everything that has surely arrived by event_ms."""
        rng = self.rng
        arrival = event_ms + rng.randint(0, MAX_ARRIVAL_DELAY_MS)
        self._queue(arrival, record)
        self.events += 1
        if rng.random() < DUPLICATE_RATE:
            self.duplicates += 1
            self._queue(arrival + rng.randint(BUFFER_MS + _SECOND, 90 * _MINUTE), record)
        while self.pending and self.pending[0][0] <= event_ms:
            self._buffer(*heapq.heappop(self.pending)[::2])

    def _queue(self, arrival: int, record: bytes) -> None:
        """Hold a record until its arrival time is reached."""
        self.seq += 1
        heapq.heappush(self.pending, (arrival, self.seq, record))

    def _buffer(self, arrival: int, record: bytes) -> None:
        """Add an arrived record to the open buffer, flushing it first when full or old."""
        if self.buffer and (
            arrival >= self.buffer_start + BUFFER_MS or self.buffer_bytes >= BUFFER_BYTES
        ):
            self.flush()
        if not self.buffer:
            self.buffer_start = arrival
        self.buffer.append(record)
        self.buffer_bytes += len(record)

    def flush(self) -> None:
        """Write the open buffer as one object."""
        if not self.buffer:
            return
        key = object_key(self.buffer_start, _uuid(self.rng), gzip_object=self.gzip_objects)
        while len(self.writing) >= 2 * _WRITERS:
            self.writing.popleft().result()
        self.writing.append(
            self.writer.submit(
                write_object,
                self.dest / key,
                self.buffer,
                delimiter=self.delimiter,
                gzip_object=self.gzip_objects,
            )
        )
        self.objects += 1
        self.buffer, self.buffer_bytes = [], 0

    def close(self) -> None:
        """Deliver everything still pending and wait for the writes."""
        try:
            while self.pending:
                self._buffer(*heapq.heappop(self.pending)[::2])
            self.flush()
            while self.writing:
                self.writing.popleft().result()
        finally:
            self.writer.shutdown(wait=True, cancel_futures=True)
