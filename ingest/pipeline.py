"""The ingest run: list -> read -> split -> parse -> flatten -> load, in bounded batches."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Protocol, TypeVar

import duckdb
import fsspec

from ingest.config import REJECTED_PAYLOAD_MAX, Settings
from ingest.flattening import RawFrames, flatten
from ingest.lake import LakeSink
from ingest.listing import ObjectInfo, list_objects, open_filesystem
from ingest.loading import LoadedObject, WarehouseSink
from ingest.parsing import Rejection, connect_parser, parse_batch
from ingest.reading import UnreadableObject, decompress, read_bytes, unwrap_error_output
from ingest.splitting import Split, split_object


@dataclass(frozen=True)
class ObjectResult:
    """What reading one object gave: its manifest row and its split content, or why not."""

    info: ObjectInfo
    manifest: LoadedObject
    split: Split | None
    rejection: Rejection | None = None
    changed_since: LoadedObject | None = None
    retry: bool = False
    unchanged: bool = False


@dataclass
class IngestSummary:
    """Counts of one ingest run, for the closing summary and the exit status."""

    listed: int = 0
    new: int = 0
    skipped: int = 0
    records: int = 0
    bytes_read: int = 0
    rejected_records: int = 0
    rejected_objects: int = 0
    unfetched: int = 0
    recovered: int = 0
    unreadable_timestamps: int = 0
    new_fields: Counter[str] = field(default_factory=Counter)
    changed_objects: list[str] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, prepared: list[PreparedBatch], rejections: list[Rejection]) -> None:
        """Add what one commit of parsed batches loaded, skipped and rejected."""
        for p in prepared:
            for r in p.objects:
                if r.changed_since is not None:
                    self.changed_objects.append(r.info.key)
                elif r.unchanged:
                    self.skipped += 1
                elif r.retry:
                    self.unfetched += 1
                else:
                    self.new += 1
                    self.bytes_read += r.manifest.size_bytes
                    self.rejected_objects += r.rejection is not None
            self.records += p.records
            self.recovered += p.recovered
            self.unreadable_timestamps += p.frames.unreadable_timestamps
            self.rejected_records += len(p.rejections)
            self.new_fields.update(p.new_fields)
        self.rejections += rejections

    @property
    def ok(self) -> bool:
        """Whether everything listed was loaded whole: nothing rejected, every timestamp read."""
        return not (
            self.rejected_records
            or self.rejected_objects
            or self.unfetched
            or self.changed_objects
            or self.unreadable_timestamps
        )


class Sink(Protocol):
    """Where the ingest writes: the warehouse's raw tables, or a lake."""

    def loaded_objects(self) -> dict[str, LoadedObject]:
        """The manifest: every object loaded so far, by key."""

    def load(
        self,
        frames: list[RawFrames],
        rejections: list[Rejection],
        manifest: list[LoadedObject],
        ingested_at: datetime,
    ) -> None:
        """Store parsed rows, rejections and manifest rows all at once or not at all."""

    def close(self) -> None:
        """Release what the sink holds."""


def open_sink(settings: Settings) -> Sink:
    """The lake's writer if the settings name a lake, else the warehouse's."""
    return LakeSink(settings.lake) if settings.lake else WarehouseSink(settings.warehouse)


class SourceUnavailable(Exception):
    """The source cannot be listed (missing folder, no access, S3 down after retries)."""


T = TypeVar("T")
R = TypeVar("R")


class Reporter(Protocol):
    """Who is told how far the run has got."""

    def listed(self, total: int) -> None:
        """The number of objects to read is known."""

    def loaded(self, info: ObjectInfo) -> None:
        """One object is parsed and waits for its commit."""

    def finished(self, summary: IngestSummary) -> None:
        """The ingest is over."""


def run_ingest(settings: Settings, reporter: Reporter | None = None) -> IngestSummary:
    """Load every object of the source not loaded before into the raw tables (the warehouse's
    or the lake's)."""
    started = time.perf_counter()
    summary = IngestSummary()
    fs = open_filesystem(settings.source)
    sink = open_sink(settings)
    try:
        known = sink.loaded_objects()
        try:
            listing = list(list_objects(fs, settings.source))
        except Exception as exc:
            raise SourceUnavailable(f"cannot list {settings.source}: {exc}") from exc
        todo = [o for o in listing if o.key not in known or known[o.key].etag != o.version]
        summary.listed, summary.skipped = len(listing), len(listing) - len(todo)
        if reporter:
            reporter.listed(len(todo))
        with ThreadPoolExecutor(settings.read_threads) as readers:
            process = partial(_process, fs, known, settings.max_object_bytes)
            results = _ahead(readers, process, todo, settings.read_threads * 2)
            batches = _batches(results, settings.batch_bytes, settings.batch_objects)
            _parse_and_load(sink, batches, settings.commit_records, summary, reporter)
    finally:
        sink.close()
    summary.seconds = time.perf_counter() - started
    if reporter:
        reporter.finished(summary)
    return summary


def _parse_and_load(
    sink: Sink,
    batches: Iterable[list[ObjectResult]],
    commit_records: int,
    summary: IngestSummary,
    reporter: Reporter | None,
) -> None:
    """Batches parsed on one thread, committed on another as groups fill up."""
    with (
        connect_parser() as parsing,
        ThreadPoolExecutor(1) as parser,
        ThreadPoolExecutor(1) as loader,
    ):
        pending: list[PreparedBatch] = []
        commit: Future[None] | None = None
        for prepared in _ahead(parser, partial(_prepare, parsing), batches, 1):
            pending.append(prepared)
            if reporter:
                for result in prepared.objects:
                    reporter.loaded(result.info)
            if sum(p.records for p in pending) >= commit_records:
                if commit is not None:
                    commit.result()
                commit = loader.submit(_load, sink, pending, summary)  # parsing goes on
                pending = []
        if commit is not None:
            commit.result()
        _load(sink, pending, summary)


def _ahead(
    pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Iterable[T], depth: int
) -> Iterator[R]:
    """fn over items on the pool, as they complete, with at most depth + 1 under way."""
    pending: set[Future[R]] = set()
    for item in items:
        pending.add(pool.submit(fn, item))
        if len(pending) > depth:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in done)
    for future in as_completed(pending):
        yield future.result()


def _process(
    fs: fsspec.AbstractFileSystem,
    known: dict[str, LoadedObject],
    max_bytes: int,
    info: ObjectInfo,
) -> ObjectResult:
    """One object fetched and, unless it was loaded before, normalised into candidate records."""
    fetched = _fetch(fs, known, info)
    if isinstance(fetched, ObjectResult):
        return fetched
    row, data = fetched
    return _normalise(info, row, data, max_bytes)


def _fetch(
    fs: fsspec.AbstractFileSystem, known: dict[str, LoadedObject], info: ObjectInfo
) -> ObjectResult | tuple[LoadedObject, bytes]:
    """The object's manifest row and bytes, or the result that says why they are not to be read."""
    if info.refused is not None:
        row = LoadedObject(info.key, info.size, info.version, "", 0, 1)
        return ObjectResult(info, row, None, Rejection(info.key, None, info.refused, None))
    if not _is_utf8(info.key):
        shown = info.key.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        error = (
            "file name is not valid UTF-8, so the warehouse cannot record it; "
            "rename the file to load it (until then it is reported on every run)"
        )
        row = LoadedObject(shown, info.size, info.version, "", 0, 1)
        return ObjectResult(info, row, None, Rejection(shown, None, error, None), retry=True)
    try:
        data = read_bytes(fs, info.key)
    except Exception as exc:  # any failure to fetch: recorded, and retried next run
        error = f"object could not be fetched ({type(exc).__name__}: {exc}); retried next run"
        row = LoadedObject(info.key, info.size, info.version, "", 0, 1)
        return ObjectResult(info, row, None, Rejection(info.key, None, error, None), retry=True)
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    row = LoadedObject(info.key, len(data), info.version, md5, 0, 0)
    before = known.get(info.key)
    if before is not None and before.md5 == md5:
        return ObjectResult(info, replace(before, etag=info.version), None, unchanged=True)
    if before is not None and before.records:  # loading it again would duplicate its records
        return ObjectResult(info, row, None, changed_since=before)
    return row, data


def _normalise(info: ObjectInfo, row: LoadedObject, data: bytes, max_bytes: int) -> ObjectResult:
    """An object's bytes decompressed, taken out of Firehose error output and split."""
    try:
        content = decompress(data, max_bytes)
    except UnreadableObject as exc:
        rejection = _object_rejection(info.key, None, f"object cannot be read: {exc}", data)
        return ObjectResult(info, row, None, rejection)
    damage = None
    if content.damage is not None:
        error = (
            f"{content.damage}; the records in its first {content.damaged_at:,} decompressed "
            "bytes were read, the rest is lost"
        )
        damage = _object_rejection(info.key, content.damaged_at, error, data)
    recovered = unwrap_error_output(content.data)
    if recovered is not None:
        return ObjectResult(info, row, split_object(recovered, info.key, recovered=True), damage)
    return ObjectResult(info, row, split_object(content.data, info.key), damage)


def _object_rejection(key: str, offset: int | None, error: str, data: bytes) -> Rejection:
    """The rejection of a whole object (or of its unreadable part), with its bytes if they fit."""
    if len(data) <= REJECTED_PAYLOAD_MAX:
        return Rejection(key, offset, error, data)
    limit = f"{REJECTED_PAYLOAD_MAX // 2**20} MiB"
    error += f" (its {len(data):,} bytes are not kept in payload: over {limit})"
    return Rejection(key, offset, error, None)


def _is_utf8(key: str) -> bool:
    """Whether a key is text that UTF-8 can store (a local file name may be arbitrary bytes)."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _batches(
    results: Iterable[ObjectResult], max_bytes: int, max_objects: int
) -> Iterator[list[ObjectResult]]:
    """Results grouped into batches of bounded content size and object count."""
    batch: list[ObjectResult] = []
    size = 0
    for result in results:
        batch.append(result)
        size += len(result.split.data) if result.split else 0
        if size >= max_bytes or len(batch) >= max_objects:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


@dataclass(frozen=True)
class PreparedBatch:
    """A batch of objects with their records parsed and flattened, ready to commit."""

    objects: list[ObjectResult]
    frames: RawFrames
    loaded: Counter[str]
    rejections: list[Rejection]
    recovered: int
    new_fields: dict[str, int]

    @property
    def records(self) -> int:
        """Records ready for loading."""
        return self.loaded.total()


def _prepare(con: duckdb.DuckDBPyConnection, batch: list[ObjectResult]) -> PreparedBatch:
    """A batch's records parsed and flattened; what its commit needs to know."""
    parsed = parse_batch(con, [r.split for r in batch if r.split is not None])
    events = parsed.events
    return PreparedBatch(
        objects=[replace(r, split=None) for r in batch],  # the content is parsed: let it go
        frames=flatten(events),
        loaded=Counter(dict(events.get_column("source_object").value_counts().iter_rows())),
        rejections=parsed.rejections,
        recovered=events.get_column("recovered_from_error_output").sum(),
        new_fields=parsed.new_fields,
    )


def _load(sink: Sink, prepared: list[PreparedBatch], summary: IngestSummary) -> None:
    """Parsed batches committed together, and counted in the summary."""
    batch = [r for p in prepared for r in p.objects]
    if not batch:
        return
    rejections = [r for p in prepared for r in p.rejections]
    rejections += [r.rejection for r in batch if r.rejection is not None]
    rejections += [_changed_rejection(r) for r in batch if r.changed_since is not None]
    loaded = sum((p.loaded for p in prepared), Counter[str]())
    rejected = Counter(r.source_object for r in rejections)
    manifest = [
        r.manifest
        if r.unchanged
        else replace(r.manifest, records=loaded[r.info.key], rejected=rejected[r.info.key])
        for r in batch
        if r.changed_since is None and not r.retry
    ]
    sink.load([p.frames for p in prepared], rejections, manifest, datetime.now(UTC))
    summary.count(prepared, rejections)


def _changed_rejection(result: ObjectResult) -> Rejection:
    """The report of an object whose content changed after it was loaded."""
    before = result.changed_since
    assert before is not None
    return Rejection(
        result.info.key,
        None,
        f"object changed after it was loaded (md5 {before.md5} -> {result.manifest.md5}); "
        "its new content was not loaded, to avoid duplicates: copy it under a new key to load it",
        None,
    )
