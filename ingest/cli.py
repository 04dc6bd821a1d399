"""The command line: run, ingest, build, report, sample and docs."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from ingest.config import DEFAULT_SAMPLE, PROJECT_ROOT, InvalidSetting, Settings, settings_from
from ingest.lake import LakeError, connect_reader
from ingest.listing import ObjectInfo
from ingest.nightly import run_nightly
from ingest.pipeline import IngestSummary, SourceUnavailable
from ingest.publishing import WarehouseBusy, plain_name
from ingest.report import (
    WarehouseNotReady,
    default_report_dir,
    reporting_timezone,
    write_report,
)
from ingest.transform import DbtResult, dbt, dbt_verify

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False
)
console = Console(stderr=True, soft_wrap=True)

SourceOpt = Annotated[
    str | None, typer.Option(help="s3://bucket/prefix or a local folder [env SOURCE]")
]
WarehouseOpt = Annotated[
    Path | None, typer.Option(help="the DuckDB file [env WAREHOUSE]", dir_okay=False)
]
LakeOpt = Annotated[
    str | None,
    typer.Option(
        help="the raw tables as a Parquet lake: a folder or s3://bucket/prefix [env RAW_LAKE]"
    ),
]
FullRefreshOpt = Annotated[bool, typer.Option(help="rebuild incremental models from scratch")]
MAX_SHOWN = 10
EXIT_BUSY = 75
EXIT_USAGE = 2


class ProgressBar:
    """A progress bar over the objects of a run, on stderr when it is a terminal."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("ingest", total=None)

    def listed(self, total: int) -> None:
        """Set the bar's length."""
        self.progress.update(self.task, total=total)

    def loaded(self, info: ObjectInfo) -> None:
        """Advance by one object."""
        self.progress.advance(self.task)

    def finished(self, summary: IngestSummary) -> None:
        """Remove the bar and print the summary."""
        self.progress.remove_task(self.task)
        _print_summary(summary)


def _settings(source: str | None, warehouse: Path | None, lake: str | None = None) -> Settings:
    """The run's settings; an invalid environment setting is said in one line, exit status 2."""
    try:
        return settings_from(source, warehouse, lake)
    except InvalidSetting as invalid:
        console.print(f"not started: {invalid}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None


def _nightly(settings: Settings, *, ingest: bool, build: bool, full_refresh: bool) -> None:
    """Run the job's steps with a progress bar, print what happened, exit with its status."""
    if ingest:
        _ensure_sample(settings)
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    try:
        shown = {"console": console, "transient": True, "disable": not console.is_terminal}
        with Progress(*columns, TimeElapsedColumn(), **shown) as bar:
            result = run_nightly(
                settings,
                ingest=ingest,
                build=build,
                full_refresh=full_refresh,
                reporter=ProgressBar(bar),
            )
    except WarehouseBusy as busy:
        console.print(f"not started: {busy}", markup=False)
        raise typer.Exit(EXIT_BUSY) from None
    except LakeError as lake_error:
        console.print(f"not started: {lake_error}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    except SourceUnavailable as unavailable:
        console.print(f"nothing loaded: {unavailable}", markup=False)
        raise typer.Exit(1) from None
    if result.project_changed and not full_refresh:
        console.print(
            "dbt build: full refresh, the dbt project (its files, REPORTING_TIMEZONE or the dbt "
            "version) changed since the last build, so every mart is rebuilt from all history"
        )
    if result.dbt:
        _print_dbt(result.dbt)
    if result.build_skipped:
        console.print(
            "dbt build: skipped, nothing was loaded since the last build (which built every "
            "model and passed every test with this project); `build` builds anyway"
        )
    for line in result.warnings:
        console.print(line, markup=False)
    if result.report is not None:
        _print_report(result.report.out, len(result.report.pages))
    if result.report_error:
        console.print(f"report: not refreshed: {result.report_error}", markup=False)
    if not result.published:
        console.print(
            f"not published: {settings.warehouse} is unchanged; nothing of this run is lost"
        )
    raise typer.Exit(0 if result.ok else 1)


def _ensure_sample(settings: Settings) -> None:
    """Write the sample archive when the default source is used and not there yet."""
    if settings.source == str(DEFAULT_SAMPLE) and not DEFAULT_SAMPLE.exists():
        from ingest.sample import generate_archive

        console.print(f"no SOURCE given: writing a sample archive to {DEFAULT_SAMPLE}/")
        generate_archive(DEFAULT_SAMPLE)


def _print_summary(s: IngestSummary) -> None:
    """One line of counts, then where anything was rejected."""
    rate = s.records / s.seconds if s.seconds else 0.0
    mb_rate = s.bytes_read / 1e6 / s.seconds if s.seconds else 0.0
    console.print(
        f"ingest: {s.new} new objects, {s.skipped} skipped; {s.records:,} records loaded "
        f"({s.recovered} recovered from Firehose error output); "
        f"{s.rejected_records} records and {s.rejected_objects} objects rejected; "
        f"{s.unfetched} not fetched (retried next run); {len(s.changed_objects)} changed; "
        f"{s.seconds:.1f} s, {rate:,.0f} events/s, {mb_rate:.1f} MB/s read"
    )
    if s.unreadable_timestamps:
        console.print(
            f"  {s.unreadable_timestamps:,} values could not be read as timestamps; kept in "
            "record (raw.agent_events.record; NULL in their columns)"
        )
    for path, count in s.new_fields.most_common():
        console.print(f"  new field {path} in {count:,} records (kept in raw.agent_events.record)")
    for r in s.rejections[:MAX_SHOWN]:
        where = "whole object" if r.byte_offset is None else f"byte {r.byte_offset}"
        console.print(f"  rejected: {r.source_object} ({where}): {r.error}", markup=False)
    if len(s.rejections) > MAX_SHOWN:
        console.print(f"  ... and {len(s.rejections) - MAX_SHOWN} more in raw.rejected_records")


def _print_dbt(result: DbtResult) -> None:
    """One line on the dbt build, naming what did not pass."""
    if result.status == 0:
        console.print("dbt build: every model built and every test passed")
        return
    console.print(
        f"dbt build failed (exit {result.status}): {len(result.models_not_built)} models not "
        f"built, {len(result.tests_failed)} tests failed"
    )
    for name in [*result.models_not_built, *result.tests_failed][:MAX_SHOWN]:
        console.print(f"  {name}", markup=False)


@app.command()
def ingest(source: SourceOpt = None, warehouse: WarehouseOpt = None, lake: LakeOpt = None) -> None:
    """Load new Firehose objects into the warehouse's raw schema (or the lake)."""
    _nightly(_settings(source, warehouse, lake), ingest=True, build=False, full_refresh=False)


@app.command()
def build(
    warehouse: WarehouseOpt = None, lake: LakeOpt = None, full_refresh: FullRefreshOpt = False
) -> None:
    """Build the staging and marts models and run the dbt tests."""
    settings = _settings(None, warehouse, lake)
    _nightly(settings, ingest=False, build=True, full_refresh=full_refresh)


@app.command()
def run(
    source: SourceOpt = None,
    warehouse: WarehouseOpt = None,
    lake: LakeOpt = None,
    full_refresh: FullRefreshOpt = False,
) -> None:
    """The nightly job: ingest, then dbt build, published atomically."""
    settings = _settings(source, warehouse, lake)
    _nightly(settings, ingest=True, build=True, full_refresh=full_refresh)


@app.command()
def verify(warehouse: WarehouseOpt = None) -> None:
    """Run every dbt data test over all history (weekly), reading the warehouse read-only."""
    settings = _settings(None, warehouse)
    if not settings.warehouse.exists():
        console.print(f"not verified: {settings.warehouse} does not exist", markup=False)
        raise typer.Exit(1)
    result = dbt_verify(settings.warehouse)
    if result.status == 0:
        console.print("dbt test (all history): every test passed")
        raise typer.Exit(0)
    console.print(
        f"dbt test (all history) failed (exit {result.status}): "
        f"{len(result.tests_failed)} tests failed"
    )
    for name in result.tests_failed[:MAX_SHOWN]:
        console.print(f"  {name}", markup=False)
    raise typer.Exit(1)


def _print_report(out: Path, pages: int) -> None:
    """One line on the report: how many day pages were written, and where the index is."""
    days = "1 day" if pages == 1 else f"{pages} days"
    console.print(f"report: {days} written; open {out / 'index.html'}", markup=False)


def _day(value: str | None) -> date | None:
    """The --day option as a date (YYYY-MM-DD); anything else stops with exit status 2."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        console.print(f"not started: --day {value!r} is not a date as YYYY-MM-DD", markup=False)
        raise typer.Exit(EXIT_USAGE) from None


@app.command()
def report(
    day: Annotated[
        str | None, typer.Option(help="one day, YYYY-MM-DD [default: every day with data]")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="folder of the pages [default: report/ beside the warehouse]"),
    ] = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Write the HTML report (one page per day, and index.html), reading the warehouse only."""
    path = _settings(None, warehouse).warehouse
    wanted = _day(day)
    try:
        tz = reporting_timezone()
    except InvalidSetting as invalid:
        console.print(f"not started: {invalid}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    folder = out or default_report_dir(path)
    try:
        result = write_report(path, folder, None if wanted is None else [wanted], tz)
    except WarehouseNotReady as not_ready:
        console.print(f"no report: {not_ready}", markup=False)
        raise typer.Exit(1) from None
    except duckdb.Error as exc:
        console.print(f"no report: {exc}", markup=False)
        raise typer.Exit(1) from None
    _print_report(result.out, len(result.pages))


@app.command()
def sample(
    dest: Annotated[Path, typer.Option(help="folder to write")] = DEFAULT_SAMPLE,
    agents: int = 20,
    days: int = 2,
    seed: int = 42,
) -> None:
    """Write the generated sample archive (gzip objects under YYYY/MM/DD/HH/)."""
    from ingest.sample import generate_archive

    stats = generate_archive(dest, agents=agents, days=days, seed=seed)
    console.print(
        f"sample: {stats.events:,} events ({stats.duplicates} Firehose duplicates) "
        f"in {stats.objects} objects under {dest}/"
    )


@app.command()
def docs(
    warehouse: WarehouseOpt = None,
    serve: Annotated[bool, typer.Option(help="serve on localhost")] = False,
    port: int = 8080,
) -> None:
    """Generate the dbt docs (and a static single file); serve them on localhost if asked."""
    path = _settings(None, warehouse).warehouse
    if not path.exists():
        console.print(f"no warehouse at {path} yet: run `make run` first")
        raise typer.Exit(1)
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = Path(tmp) / plain_name(path)
        shutil.copyfile(path, snapshot)
        status = dbt(["docs", "generate", "--static"], snapshot)
    if status:
        raise typer.Exit(status)
    console.print(
        f"docs: {PROJECT_ROOT / 'target' / 'static_index.html'} (one file, works offline)"
    )
    if serve:
        console.print(f"serving the docs on http://127.0.0.1:{port} (Ctrl-C to stop)")
        args = ["docs", "serve", "--port", str(port), "--host", "127.0.0.1", "--no-browser"]
        raise typer.Exit(dbt(args, path))


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="one SQL query")],
    warehouse: WarehouseOpt = None,
    max_rows: int = 100,
) -> None:
    """Run a query on the warehouse, read-only, and print the result."""
    path = _settings(None, warehouse).warehouse
    try:
        with connect_reader(path) as con:
            con.sql(query).show(max_rows=max_rows, max_width=200)
    except duckdb.Error as exc:
        console.print(f"query failed: {exc}", markup=False)
        raise typer.Exit(1) from None
