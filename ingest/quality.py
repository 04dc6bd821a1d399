"""Data-quality lines for the run summary, read from the dq marts built by dbt."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

MAX_HOURS_LISTED = 12

GAPS_SQL = """
    select
        count(*),
        count(distinct agent_arn),
        max(threshold_seconds),
        arg_max(coalesce(username, agent_id, agent_arn), (gap_seconds, started_at)),
        arg_max(started_at, (gap_seconds, started_at)),
        max(gap_seconds)
    from marts.dq_event_gaps
"""
MISSING_HOURS_SQL = """
    select hour_start from marts.dq_hourly_arrivals where is_missing_data order by hour_start
"""
DUPLICATES_SQL = """
    select coalesce(sum(duplicate_records), 0), coalesce(sum(records_received), 0)
    from marts.dq_duplicates_daily
"""


def quality_report(warehouse: Path) -> list[str]:
    """Short lines on event gaps, hours without objects and the duplicate rate."""
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        return [f"data quality: not available ({exc})"]
    try:
        con.execute("set TimeZone = 'UTC'")
        gaps = con.execute(GAPS_SQL).fetchone()
        missing = [row[0] for row in con.execute(MISSING_HOURS_SQL).fetchall()]
        duplicates, received = con.execute(DUPLICATES_SQL).fetchone()
    except duckdb.CatalogException:
        return ["data quality: not available (the dq marts are not built)"]
    finally:
        con.close()
    lines = []
    if gaps and gaps[0]:
        lines.append(_gaps_line(*gaps))
    if missing:
        lines.append(_missing_hours_line(missing))
    lines.append(_duplicates_line(duplicates, received))
    return lines


def _plural(count: int, word: str) -> str:
    """'1 agent', '3 agents'."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _gaps_line(
    gaps: int, agents: int, threshold: float, agent: str, started: datetime, longest: float
) -> str:
    """The event-gaps line."""
    return (
        f"data quality: {_plural(agents, 'agent')} had"
        f" {_plural(gaps, 'event gap')} over {threshold:,.0f} s (likely data loss),"
        f" longest {longest:,.0f} s ({agent} on {started:%Y-%m-%d %H:%M})"
    )


def _missing_hours_line(hours: list[datetime]) -> str:
    """The hours-without-objects line; the date is written once per day."""
    shown, day = [], None
    for hour in hours[:MAX_HOURS_LISTED]:
        shown.append(f"{hour:%H:%M}" if hour.date() == day else f"{hour:%Y-%m-%d %H:%M}")
        day = hour.date()
    more = len(hours) - len(shown)
    listed = ", ".join(shown) + (f" and {more:,} more" if more else "")
    return (
        f"data quality: no objects arrived in {_plural(len(hours), 'hour')}"
        f" while agents were logged in: {listed}"
    )


def _duplicates_line(duplicates: int, received: int) -> str:
    """The duplicate-rate line."""
    rate = duplicates / received if received else 0.0
    percent = f"{rate:.2%}" if 0 < rate < 0.001 else f"{rate:.1%}"
    return (
        f"data quality: duplicate rate {percent} ({duplicates:,} of {_plural(received, 'record')})"
    )
