"""The nightly job: ingest and dbt build on a private copy of the warehouse, then publish it."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingest.config import InvalidSetting, Settings
from ingest.lake import (
    LakeError,
    check_reachable,
    connect_warehouse,
    is_s3,
    lake_of,
    refuse_own_tables,
)
from ingest.pipeline import IngestSummary, Reporter, SourceUnavailable, run_ingest
from ingest.publishing import discard, publish, run_lock, start_building
from ingest.quality import quality_report
from ingest.report import ReportResult, WarehouseNotReady, refresh_report
from ingest.transform import DbtResult, dbt_build, project_fingerprint


@dataclass
class NightlyResult:
    """What a run did: the ingest's summary, dbt's result, and whether it was published."""

    command: str
    started_at: datetime
    ingest: IngestSummary | None = None
    dbt: DbtResult | None = None
    published: bool = False
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    report: ReportResult | None = None
    report_error: str | None = None
    build_skipped: bool = False
    project_changed: bool = False
    dbt_fingerprint: str | None = None
    raw_state: str | None = None

    @property
    def ok(self) -> bool:
        """Whether everything loaded, every model built and every test passed."""
        ingest_ok = self.ingest is None or self.ingest.ok
        dbt_ok = self.dbt is None or (self.dbt.status == 0 and not self.dbt.tests_failed)
        report_ok = self.report_error is None
        return self.published and ingest_ok and dbt_ok and report_ok and self.error is None


def run_nightly(
    settings: Settings,
    *,
    ingest: bool = True,
    build: bool = True,
    full_refresh: bool = False,
    reporter: Reporter | None = None,
) -> NightlyResult:
    """Ingest and/or build in a copy of the warehouse; publish it if the marts are complete."""
    command = "run" if ingest and build else "ingest" if ingest else "build"
    result = NightlyResult(command, datetime.now(UTC))
    with ExitStack() as locks:
        locks.enter_context(run_lock(settings.warehouse))
        if settings.lake and not is_s3(settings.lake):  # one writer per lake folder too
            locks.enter_context(run_lock(Path(settings.lake) / ".ingest"))
        building = start_building(settings.warehouse)  # raises WarehouseBusy first
        views_made = False  # whether this run made the raw views of this copy over the lake
        try:
            _check_sink(settings, ingest)
            if ingest:
                try:
                    result.ingest = run_ingest(replace(settings, warehouse=building), reporter)
                except SourceUnavailable as unavailable:
                    result.error, result.published = str(unavailable), True
                    discard(building)
                    building = start_building(settings.warehouse)
                    record_run(building, settings, result)
                    publish(building, settings.warehouse)
                    raise
            if build:
                result.dbt_fingerprint = project_fingerprint()
                # the copy's views over the lake, made once the ingest has committed its batches
                with connect_warehouse(building, settings.lake) as con:
                    result.raw_state = raw_state(con)
                    last = _last_build(con)
                views_made = True
                # the last build passed everything, made by this project from these raw tables:
                # a build now would give the same marts and the same test results
                result.build_skipped = (
                    ingest
                    and not full_refresh
                    and last == (0, result.dbt_fingerprint, result.raw_state)
                )
                if not result.build_skipped:
                    # marts built by another version of the project (or by one that recorded
                    # none): their incremental rows may not be what the models make now
                    result.project_changed = last is not None and last[1] != result.dbt_fingerprint
                    result.dbt = dbt_build(building, full_refresh or result.project_changed)
                result.warnings = quality_report(building)
            result.published = result.dbt is None or result.dbt.publishable
            if not result.published:
                discard(building)
                building, views_made = start_building(settings.warehouse), False
            record_run(building, settings, result, make_views=not views_made)
            publish(building, settings.warehouse)
            if ingest and build and result.published:
                _refresh_report(settings, result)
        finally:
            discard(building)
    return result


def _check_sink(settings: Settings, ingest: bool) -> None:
    """Raise LakeError if the warehouse cannot be put on the lake given, if an ingest without
    a lake would write into a warehouse that reads its raw tables from one, or if the run's
    S3 lake cannot be reached."""
    lake = settings.lake or lake_of(settings.warehouse)
    if settings.lake:
        refuse_own_tables(settings.warehouse, settings.lake)
    elif ingest and lake:
        raise LakeError(
            f"{settings.warehouse} reads its raw tables from the lake {lake}: ingest into that "
            "lake (--lake or RAW_LAKE), not into the warehouse file"
        )
    if lake:
        check_reachable(lake)


def _refresh_report(settings: Settings, result: NightlyResult) -> None:
    """Rewrite the report's pages of the days whose events this run loaded (all on a first run)."""
    try:
        result.report = refresh_report(settings.warehouse, result.started_at)
    except (InvalidSetting, WarehouseNotReady, duckdb.Error, OSError) as exc:
        result.report_error = str(exc)
    except Exception as exc:  # the night is published: a report's defect must not hide that
        result.report_error = f"{type(exc).__name__}: {exc}"


def raw_state(con: duckdb.DuckDBPyConnection) -> str:
    """What the raw tables hold, in a few numbers that change whenever an ingest writes to them."""
    objects = con.execute(
        "select count(*), max(ingested_at), sum(records), sum(rejected) from raw.ingested_objects"
    ).fetchone()
    rejections = con.execute("select count(*) from raw.rejected_records").fetchone()
    return " ".join(map(str, (*objects, *rejections)))


def _last_build(con: duckdb.DuckDBPyConnection) -> tuple[int, str | None, str | None] | None:
    """The last published build's dbt status, project fingerprint and raw state, if any."""
    return con.execute(
        "select dbt_status, dbt_fingerprint, raw_state from raw.runs"
        " where dbt_status is not null and published order by ended_at desc limit 1"
    ).fetchone()


def record_run(
    warehouse: Path, settings: Settings, result: NightlyResult, *, make_views: bool = True
) -> None:
    """Add the run's row to raw.runs (making the raw views over the lake first if asked)."""
    s, d = result.ingest, result.dbt
    row = {
        "run_id": str(uuid.uuid4()),
        "command": result.command,
        "source": settings.source if s else None,
        "started_at": result.started_at,
        "ended_at": datetime.now(UTC),
        "objects_new": s and s.new,
        "objects_skipped": s and s.skipped,
        "objects_rejected": s and s.rejected_objects,
        "objects_unfetched": s and s.unfetched,
        "objects_changed": s and len(s.changed_objects),
        "records_loaded": s and s.records,
        "records_rejected": s and s.rejected_records,
        "records_recovered": s and s.recovered,
        "timestamps_unreadable": s and s.unreadable_timestamps,
        "new_fields": [f"{k} ({v})" for k, v in s.new_fields.items()] if s else None,
        "warnings": result.warnings,
        "dbt_status": d and d.status,
        "models_not_built": d and d.models_not_built,
        "tests_failed": d and d.tests_failed,
        "published": result.published,
        "exit_status": 0 if result.ok else 1,
        "error": result.error,
        "dbt_fingerprint": d and result.dbt_fingerprint,
        "raw_state": d and result.raw_state,
    }
    columns = ", ".join(row)
    values = ", ".join(f"${name}" for name in row)
    with connect_warehouse(warehouse, settings.lake, make_views=make_views) as con:
        con.execute(f"insert into raw.runs ({columns}) values ({values})", row)
