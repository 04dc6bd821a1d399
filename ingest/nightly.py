"""The nightly job: ingest and dbt build on a private copy of the warehouse, then publish it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ingest.config import Settings
from ingest.pipeline import IngestSummary, Reporter, run_ingest
from ingest.publishing import discard, publish, run_lock, start_building
from ingest.transform import DbtResult, dbt_build


@dataclass(frozen=True)
class NightlyResult:
    """What a run did: the ingest's summary, dbt's result, and whether it was published."""

    ingest: IngestSummary | None
    dbt: DbtResult | None
    published: bool

    @property
    def ok(self) -> bool:
        """Whether everything loaded, every model built and every test passed."""
        ingest_ok = self.ingest is None or self.ingest.ok
        dbt_ok = self.dbt is None or (self.dbt.status == 0 and not self.dbt.tests_failed)
        return self.published and ingest_ok and dbt_ok


def run_nightly(
    settings: Settings,
    *,
    ingest: bool = True,
    build: bool = True,
    full_refresh: bool = False,
    reporter: Reporter | None = None,
) -> NightlyResult:
    """Ingest and/or build in a copy of the warehouse; publish it if the marts are complete."""
    with run_lock(settings.warehouse):
        building = start_building(settings.warehouse)
        try:
            staged = replace(settings, warehouse=building)
            summary = run_ingest(staged, reporter) if ingest else None
            result = dbt_build(building, full_refresh) if build else None
            if result is None or result.publishable:
                publish(building, settings.warehouse)
                return NightlyResult(summary, result, True)
            return NightlyResult(summary, result, False)
        finally:
            discard(building)
