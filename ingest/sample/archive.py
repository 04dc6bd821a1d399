"""The public entry points: a whole sample archive, and its size for a target event count."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ingest.sample.firehose import (
    _Delivery,
)
from ingest.sample.simulation import (
    agent_timelines,
)

EVENTS_PER_AGENT_DAY = 560


@dataclass(frozen=True)
class SampleStats:
    """What generate_archive wrote: objects, distinct events, duplicate deliveries, agents, days."""

    objects: int
    events: int
    duplicates: int
    agents: int
    days: int


def generate_archive(
    dest: Path,
    *,
    agents: int = 20,
    days: int = 2,
    start: date = date(2026, 11, 2),
    seed: int = 42,
    delimiter: bytes = b"",
    gzip_objects: bool = True,
) -> SampleStats:
    """Write a deterministic Firehose archive of agent events under dest."""
    if agents < 1 or days < 1:
        raise ValueError("agents and days must be at least 1")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    delivery = _Delivery(dest, random.Random(f"{seed}:firehose"), delimiter, gzip_objects)
    try:
        for event_ms, _, record in agent_timelines(
            agents=agents, days=days, start=start, seed=seed
        ):
            delivery.accept(event_ms, record)
    except BaseException:
        delivery.writer.shutdown(wait=True, cancel_futures=True)
        raise
    delivery.close()
    return SampleStats(delivery.objects, delivery.events, delivery.duplicates, agents, days)


def events_for_target(target_events: int) -> tuple[int, int]:
    """(agents, days) whose archive holds roughly target_events events."""
    days = 2 if target_events <= 100_000 else 5
    agents = max(1, round(target_events / (days * EVENTS_PER_AGENT_DAY)))
    return agents, days
