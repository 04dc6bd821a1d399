"""The HTML report: one self-contained page per day of agent activity, and an index of the days."""

from __future__ import annotations

import hashlib
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import jinja2
import plotly.graph_objects as go

from ingest.config import InvalidSetting
from ingest.lake import connect_reader

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("ingest", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# Activities as Connect's agent activity report names them, in legend order, with their colours;
# custom statuses (NPT) get one of CUSTOM_COLOURS, the same for the same name on every page.
ACTIVITY_COLOURS = {
    "Available": "#4caf50",
    "Incoming": "#90caf9",
    "On contact": "#1565c0",
    "After contact work": "#8e44ad",
    "Missed": "#e53935",
    "Rejected": "#ff7043",
    "Error": "#8b0000",
    "Offline": "#b0b0b0",
}
CUSTOM_COLOURS = ("#f2b600", "#a6761d", "#17becf", "#e377c2", "#bcbd22", "#795548", "#ff9800")
# The floor chart's stack: label, colour and the SQL of its seconds per interval.
FLOOR_PARTS = (
    ("Available (idle)", ACTIVITY_COLOURS["Available"], "sum(idle_seconds)"),
    ("Incoming", ACTIVITY_COLOURS["Incoming"], "sum(incoming_seconds)"),
    (
        "On contact",
        ACTIVITY_COLOURS["On contact"],
        "sum(on_contact_seconds) - sum(after_contact_work_seconds)",
    ),
    (
        "After contact work",
        ACTIVITY_COLOURS["After contact work"],
        "sum(after_contact_work_seconds)",
    ),
    ("Missed / error", ACTIVITY_COLOURS["Missed"], "sum(error_seconds)"),
    ("Custom statuses (NPT)", CUSTOM_COLOURS[0], "sum(npt_seconds)"),
)
INTERVAL = timedelta(minutes=15)
SORTS = (("name", "Name"), ("routing_profile", "Routing profile"), ("hierarchy", "Hierarchy group"))
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
# The pages a first nightly run writes: the latest days with data (each page carries plotly.js,
# about 5 MB); `connect-warehouse report` writes every day.
FIRST_RUN_DAYS = 31


class WarehouseNotReady(RuntimeError):
    """The warehouse is missing, or its marts are not built yet."""


@dataclass
class Agent:
    """An agent on a day's page: names, routing profile, hierarchy group and the day's figures."""

    agent_arn: str
    username: str | None = None
    full_name: str | None = None
    routing_profile: str | None = None
    hierarchy: str | None = None
    segments: int = 0
    events: int = 0
    first_event_type: str | None = None
    first_event_at: datetime | None = None
    figures: dict[str, float] | None = None

    @property
    def label(self) -> str:
        """The agent's short name: the username, else the id at the end of the ARN."""
        return self.username or self.agent_arn.rsplit("/", 1)[-1]

    @property
    def name(self) -> str:
        """The agent's full name, else the short name."""
        return self.full_name or self.label


@dataclass
class DayData:
    """Everything a day's page shows, read from the warehouse."""

    day: date
    tz: ZoneInfo
    start: datetime
    end: datetime
    horizon: datetime | None
    agents: dict[str, Agent]
    segments: list[dict]
    floor: list[dict]
    rejections: list[dict]
    gaps: list[dict]
    missing_hours: list[datetime]
    duplicates: list[dict]
    runs: list[dict]
    missing: list[str] = field(default_factory=list)


@dataclass
class ReportResult:
    """What a report run wrote: the day pages, the index, and the days with data."""

    out: Path
    pages: list[Path]
    index: Path
    days_with_data: list[date]


def reporting_timezone() -> ZoneInfo:
    """REPORTING_TIMEZONE (an IANA name, default UTC), or InvalidSetting naming the value."""
    name = os.environ.get("REPORTING_TIMEZONE", "").strip() or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSetting(
            f"REPORTING_TIMEZONE={name!r} is not an IANA time zone name (such as UTC or "
            "Europe/Paris)"
        ) from None


def default_report_dir(warehouse: Path) -> Path:
    """Where the report goes by default: report/ beside the warehouse file."""
    return warehouse.parent / "report"


def write_report(
    warehouse: Path,
    out: Path | None = None,
    days: list[date] | None = None,
    tz: ZoneInfo | None = None,
) -> ReportResult:
    """Write the pages of the given days (default: every day with data) and the index."""
    tz = tz or reporting_timezone()
    out = out or default_report_dir(warehouse)
    with _open(warehouse, tz) as con:
        days_with_data = _days_with_data(con, tz)
        wanted = days_with_data if days is None else sorted(set(days))
        out.mkdir(parents=True, exist_ok=True)
        pages = []
        for day in wanted:
            data = read_day(con, day, tz)
            page = out / f"{day.isoformat()}.html"
            _write_atomically(page, render_day(data, days_with_data))
            pages.append(page)
        summaries = _day_summaries(con, tz)
    index = out / "index.html"
    _write_atomically(index, render_index(out, days_with_data, summaries, tz))
    return ReportResult(out, pages, index, days_with_data)


def refresh_report(warehouse: Path, since: datetime) -> ReportResult:
    """After a night: the pages of the days loaded since `since` (on a first run, the latest
    FIRST_RUN_DAYS days with data).

    A segment open across midnight is closed by the next day's events, so the day before the
    first loaded day is written again too.
    """
    tz = reporting_timezone()
    out = default_report_dir(warehouse)
    if not (out / "index.html").exists():
        with _open(warehouse, tz) as con:
            latest = _days_with_data(con, tz)[-FIRST_RUN_DAYS:]
        return write_report(warehouse, out, latest, tz)
    loaded = days_loaded_since(warehouse, since, tz)
    before = [loaded[0] - timedelta(days=1)] if loaded else []
    days = [d for d in before if (out / f"{d.isoformat()}.html").exists()] + loaded
    return write_report(warehouse, out, days, tz)


def days_loaded_since(warehouse: Path, since: datetime, tz: ZoneInfo | None = None) -> list[date]:
    """The days (in the reporting time zone) of the events ingested at or after `since`."""
    tz = tz or reporting_timezone()
    with _open(warehouse, tz) as con:
        rows = con.execute(
            f"""
            select distinct timezone('{tz.key}', event_timestamp)::date
            from raw.agent_events
            where ingested_at >= $since
            order by 1
            """,
            {"since": since},
        ).fetchall()
    return [row[0] for row in rows]


def _open(warehouse: Path, tz: ZoneInfo) -> duckdb.DuckDBPyConnection:
    """A read-only connection whose timestamps come back in the reporting time zone."""
    if not warehouse.exists():
        raise WarehouseNotReady(f"no warehouse at {warehouse} yet: run `make run` first")
    con = connect_reader(warehouse)
    try:
        con.execute(f"set TimeZone = '{tz.key}'")
        tables = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables()"
            ).fetchall()
        }
    except duckdb.Error:
        con.close()
        raise
    needed = {"marts.fct_agent_activity", "marts.agg_agent_activity_15m", "marts.dim_agent"}
    if not needed <= tables:
        con.close()
        raise WarehouseNotReady(
            f"the marts of {warehouse} are not built (no {', '.join(sorted(needed - tables))}): "
            "run `make build` first"
        )
    return con


def _write_atomically(path: Path, text: str) -> None:
    """Write a file whole or not at all, so that a reader never opens half a page."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The day's first instant and the next day's, in the reporting time zone."""
    start = datetime.combine(day, time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    return start, end


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[dict]:
    """A query's rows as dicts."""
    cursor = con.execute(sql, params or {})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# The day of a rejection: the UTC hour of its object's Firehose folder (YYYY/MM/DD/HH/), else
# the time stamp in Firehose's file name, else when it was rejected.
REJECTION_TIME_SQL = """
    coalesce(
        timezone('UTC', try_strptime(
            nullif(regexp_extract(source_object, '(\\d{4}/\\d{2}/\\d{2}/\\d{2})/[^/]*$', 1), ''),
            '%Y/%m/%d/%H'
        )),
        timezone('UTC', try_strptime(
            nullif(regexp_extract(
                source_object, '(\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2})-[^/]*$', 1
            ), ''),
            '%Y-%m-%d-%H-%M-%S'
        )),
        rejected_at
    )
"""


def _days_with_data(con: duckdb.DuckDBPyConnection, tz: ZoneInfo) -> list[date]:
    """Every day on which a segment starts, an event happened or an object was rejected.

    A segment open over days without events (a status started long before the first event
    seen, for example) shows on the pages of the days around it, not on a page per day.
    """
    z = tz.key
    rows = con.execute(
        f"""
        select timezone('{z}', started_at)::date from marts.fct_agent_activity
        union
        select timezone('{z}', event_timestamp)::date from staging.stg_agent_events
        union
        select timezone('{z}', {REJECTION_TIME_SQL})::date from raw.rejected_records
        order by 1
        """
    ).fetchall()
    return [row[0] for row in rows]


def _day_summaries(con: duckdb.DuckDBPyConnection, tz: ZoneInfo) -> dict[date, dict]:
    """Per day: agents, online hours, contacts handled and missed, records rejected."""
    z = tz.key
    rows = _rows(
        con,
        f"""
        with activity as (
            select
                timezone('{z}', interval_start)::date as day,
                count(distinct agent_arn) filter (where logged_in_seconds > 0) as agents,
                sum(online_seconds) / 3600 as online_hours,
                sum(contacts_handled) as handled,
                sum(contacts_missed) as missed
            from marts.agg_agent_activity_15m
            group by 1
        ),
        rejected as (
            select timezone('{z}', {REJECTION_TIME_SQL})::date as day, count(*) as rejected
            from raw.rejected_records
            group by 1
        )
        select
            coalesce(activity.day, rejected.day) as day,
            coalesce(agents, 0) as agents,
            coalesce(online_hours, 0) as online_hours,
            coalesce(handled, 0) as handled,
            coalesce(missed, 0) as missed,
            coalesce(rejected, 0) as rejected
        from activity
        full outer join rejected on activity.day = rejected.day
        """,
    )
    return {row["day"]: row for row in rows}


def read_day(con: duckdb.DuckDBPyConnection, day: date, tz: ZoneInfo) -> DayData:
    """Read one day's segments, 15-minute figures, agents and data-quality rows."""
    start, end = _day_bounds(day, tz)
    bounds = {"day_start": start, "day_end": end}
    horizon = con.execute("select max(event_timestamp) from staging.stg_agent_events").fetchone()
    horizon_at = horizon[0] if horizon else None
    segments = _rows(
        con,
        """
        select
            agent_arn, activity, status_name, status_type, contacts, started_at, ended_at,
            greatest(started_at, $day_start) as bar_start,
            least(coalesce(ended_at, greatest(started_at, $horizon)), $day_end) as bar_end
        from marts.fct_agent_activity
        where started_at < $day_end
            and coalesce(ended_at, greatest(started_at, $horizon)) > $day_start
        order by agent_arn, started_at
        """,
        {**bounds, "horizon": horizon_at or start},
    )
    agents = _read_agents(con, bounds, segments)
    floor = _rows(
        con,
        f"""
        select
            interval_start,
            {", ".join(f"{sql} as part_{i}" for i, (_, _, sql) in enumerate(FLOOR_PARTS))},
            sum(online_seconds) as online_seconds,
            count(distinct agent_arn) filter (where logged_in_seconds > 0) as agents,
            sum(on_contact_seconds)
                / nullif(sum(on_contact_seconds) + sum(idle_seconds) + sum(error_seconds), 0)
                as occupancy
        from marts.agg_agent_activity_15m
        where interval_start >= $day_start and interval_start < $day_end
        group by interval_start
        order by interval_start
        """,
        bounds,
    )
    rejections = _rows(
        con,
        f"""
        select source_object, byte_offset, error, rejected_at, octet_length(payload) as bytes
        from raw.rejected_records
        where {REJECTION_TIME_SQL} >= $day_start and {REJECTION_TIME_SQL} < $day_end
        order by source_object, byte_offset nulls first
        """,
        bounds,
    )
    gaps = _rows(
        con,
        """
        select agent_arn, started_at, ended_at, gap_seconds, status_name
        from marts.dq_event_gaps
        where started_at < $day_end and ended_at > $day_start
        order by started_at
        """,
        bounds,
    )
    missing_hours = [
        row[0]
        for row in con.execute(
            """
            select hour_start from marts.dq_hourly_arrivals
            where is_missing_data and hour_start >= $day_start and hour_start < $day_end
            order by hour_start
            """,
            bounds,
        ).fetchall()
    ]
    duplicates = _rows(
        con,
        """
        select event_date, records_received, distinct_events, duplicate_records, duplicate_rate
        from marts.dq_duplicates_daily
        where event_date between timezone('UTC', $day_start)::date
            and timezone('UTC', $day_end - interval 1 microsecond)::date
        order by event_date
        """,
        bounds,
    )
    runs = _rows(
        con,
        f"""
        with touched as (
            select ingested_at as at from raw.agent_events
            where event_timestamp >= $day_start and event_timestamp < $day_end
            union
            select rejected_at from raw.rejected_records
            where {REJECTION_TIME_SQL} >= $day_start and {REJECTION_TIME_SQL} < $day_end
        )
        select
            started_at, ended_at, command, records_loaded, records_rejected, objects_rejected,
            coalesce(new_fields, []) as new_fields, published, exit_status
        from raw.runs
        where exists (
            select 1 from touched where touched.at between runs.started_at and runs.ended_at
        )
        order by started_at
        """,
        bounds,
    )
    data = DayData(
        day, tz, start, end, horizon_at, agents, segments, floor, rejections, gaps,
        missing_hours, duplicates, runs,
    )  # fmt: skip
    data.missing = _what_is_missing(data)
    return data


def _read_agents(
    con: duckdb.DuckDBPyConnection, bounds: dict, segments: list[dict]
) -> dict[str, Agent]:
    """The day's agents: with segments, 15-minute figures or events; names and groups."""
    figures = _rows(
        con,
        """
        select
            agent_arn,
            sum(online_seconds) as online_seconds,
            sum(npt_seconds) as npt_seconds,
            sum(idle_seconds) as idle_seconds,
            sum(on_contact_seconds) as on_contact_seconds,
            sum(after_contact_work_seconds) as after_contact_work_seconds,
            sum(on_contact_seconds)
                / nullif(sum(on_contact_seconds) + sum(idle_seconds) + sum(error_seconds), 0)
                as occupancy,
            sum(contacts_handled) as contacts_handled,
            sum(contacts_missed) as contacts_missed,
            sum(handle_seconds) / nullif(sum(contacts_handled), 0) as average_handle_seconds
        from marts.agg_agent_activity_15m
        where interval_start >= $day_start and interval_start < $day_end
        group by agent_arn
        """,
        bounds,
    )
    events = _rows(
        con,
        """
        select
            agent_arn,
            count(*) as events,
            arg_min(event_type, event_timestamp) as first_event_type,
            min(event_timestamp) as first_event_at
        from staging.stg_agent_events
        where event_timestamp >= $day_start and event_timestamp < $day_end
        group by agent_arn
        """,
        bounds,
    )
    agents: dict[str, Agent] = {}
    for segment in segments:
        agents.setdefault(segment["agent_arn"], Agent(segment["agent_arn"])).segments += 1
    for row in figures:
        arn = row.pop("agent_arn")
        agents.setdefault(arn, Agent(arn)).figures = row
    for row in events:
        agent = agents.setdefault(row["agent_arn"], Agent(row["agent_arn"]))
        agent.events = row["events"]
        agent.first_event_type = row["first_event_type"]
        agent.first_event_at = row["first_event_at"]
    if not agents:
        return agents
    # The agent version and routing profile in force at the day's last segment start (else at
    # the day's end); the latest known version when none was in force then.
    names = _rows(
        con,
        """
        with day_agents as (
            select unnest($arns) as agent_arn
        ),
        last_segment as (
            select agent_arn, arg_max(routing_profile_arn, started_at) as routing_profile_arn,
                max(started_at) as at
            from marts.fct_agent_activity
            where started_at < $day_end and (ended_at is null or ended_at > $day_start)
            group by agent_arn
        ),
        moments as (
            select
                day_agents.agent_arn,
                least(coalesce(last_segment.at, $day_end), $day_end) as at,
                last_segment.routing_profile_arn
            from day_agents
            left join last_segment on day_agents.agent_arn = last_segment.agent_arn
        ),
        agent_versions as (
            select moments.agent_arn, moments.at, moments.routing_profile_arn as segment_profile,
                dim_agent.*
            from moments
            left join marts.dim_agent on moments.agent_arn = dim_agent.agent_arn
            qualify row_number() over (
                partition by moments.agent_arn
                order by
                    (dim_agent.valid_from <= moments.at
                        and coalesce(dim_agent.valid_to > moments.at, true)) desc,
                    dim_agent.valid_from desc
            ) = 1
        ),
        profiles as (
            select
                agent_versions.agent_arn,
                dim_routing_profile.routing_profile_name
            from agent_versions
            join marts.dim_routing_profile
                on dim_routing_profile.routing_profile_arn
                    = coalesce(agent_versions.segment_profile, agent_versions.routing_profile_arn)
            qualify row_number() over (
                partition by agent_versions.agent_arn
                order by
                    (dim_routing_profile.valid_from <= agent_versions.at
                        and coalesce(dim_routing_profile.valid_to > agent_versions.at, true)) desc,
                    dim_routing_profile.valid_from desc
            ) = 1
        )
        select
            agent_versions.agent_arn,
            agent_versions.username,
            nullif(concat_ws(' ', agent_versions.first_name, agent_versions.last_name), '')
                as full_name,
            coalesce(
                profiles.routing_profile_name,
                coalesce(agent_versions.segment_profile, agent_versions.routing_profile_arn)
            ) as routing_profile,
            nullif(concat_ws(' / ',
                agent_versions.hierarchy_level1_name, agent_versions.hierarchy_level2_name,
                agent_versions.hierarchy_level3_name, agent_versions.hierarchy_level4_name,
                agent_versions.hierarchy_level5_name
            ), '') as hierarchy
        from agent_versions
        left join profiles on agent_versions.agent_arn = profiles.agent_arn
        """,
        {**bounds, "arns": list(agents)},
    )
    for row in names:
        agent = agents[row["agent_arn"]]
        agent.username = row["username"]
        agent.full_name = row["full_name"]
        agent.routing_profile = row["routing_profile"]
        agent.hierarchy = row["hierarchy"]
    return agents


def _what_is_missing(data: DayData) -> list[str]:
    """Sentences on what the page cannot show: no data, thin agents, open segments, losses."""
    notes = []
    if not data.segments and not data.agents:
        notes.append(
            f"No agent event and no activity on {data.day:%A %d %B %Y} ({data.tz.key}): "
            "the warehouse holds nothing for this day."
        )
    elif not data.segments:
        notes.append("No activity segment on this day: the timeline is empty.")
    if data.agents and not data.floor:
        notes.append("No 15-minute interval on this day: the floor chart is empty.")
    for agent in sorted(data.agents.values(), key=lambda a: a.label):
        if agent.events and not agent.segments:
            notes.append(
                f"{agent.label}: {_plural(agent.events, 'event')} on this day but no activity "
                "segment (the events do not show a login or a status): not on the timeline."
            )
        elif agent.events == 1:
            notes.append(
                f"{agent.label}: only one event on this day ({agent.first_event_type} at "
                f"{_clock(agent.first_event_at, data.tz)}): the timeline shows what it says, "
                "up to the agent's next event or the latest event in the warehouse."
            )
        if agent.segments and agent.figures is None:
            notes.append(f"{agent.label}: no 15-minute figures on this day (dashes in the table).")
        if agent.username is None:
            notes.append(f"{agent.label}: no name, routing profile or hierarchy known (dim_agent).")
    if data.horizon is not None and data.start <= data.horizon < data.end - timedelta(seconds=1):
        notes.append(
            f"The warehouse's events end at {_clock(data.horizon, data.tz)} on this day: what "
            "came after has not arrived yet."
        )
    open_segments = [s for s in data.segments if s["ended_at"] is None]
    if open_segments and data.horizon is not None:
        notes.append(
            f"{_plural(len(open_segments), 'segment')} still open at the latest event in the "
            f"warehouse ({_stamp(data.horizon, data.tz)}): drawn up to it."
        )
    whole = [r for r in data.rejections if r["byte_offset"] is None]
    if data.rejections:
        notes.append(
            f"{_plural(len(data.rejections) - len(whole), 'record')} and "
            f"{_plural(len(whole), 'whole object')} of this day rejected: what they held is "
            "missing from the charts (see Data quality)."
        )
    if data.missing_hours:
        hours = ", ".join(_clock(h, data.tz)[:5] for h in data.missing_hours)
        notes.append(
            f"{_plural(len(data.missing_hours), 'hour')} with agents logged in but no object "
            f"arriving ({hours}): their events are missing or late."
        )
    if data.gaps:
        notes.append(
            f"{_plural(len(data.gaps), 'gap')} of silence in an agent's events while logged in "
            "(likely data loss; see Data quality)."
        )
    return notes


def _plural(count: int, word: str) -> str:
    """'1 agent', '3 agents'."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _clock(at: datetime | None, tz: ZoneInfo) -> str:
    """A time as HH:MM:SS in the reporting zone."""
    return at.astimezone(tz).strftime("%H:%M:%S") if at else "—"


def _stamp(at: datetime | None, tz: ZoneInfo) -> str:
    """A time as 'YYYY-MM-DD HH:MM:SS ZONE' in the reporting zone."""
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z") if at else "—"


def _local(at: datetime, tz: ZoneInfo) -> str:
    """A time as naive ISO text in the reporting zone, as the charts' date axes take it."""
    return at.astimezone(tz).replace(tzinfo=None).isoformat(timespec="milliseconds")


def _colours(activities: list[str]) -> dict[str, str]:
    """Each activity's colour: fixed for Connect's, by name for custom statuses (no two alike)."""
    colours = {a: ACTIVITY_COLOURS[a] for a in activities if a in ACTIVITY_COLOURS}
    free = list(CUSTOM_COLOURS)
    for activity in sorted(a for a in activities if a not in ACTIVITY_COLOURS):
        digest = hashlib.md5(activity.encode(), usedforsecurity=False).digest()
        start = digest[0] % len(CUSTOM_COLOURS)
        ranked = CUSTOM_COLOURS[start:] + CUSTOM_COLOURS[:start]
        colour = next((c for c in ranked if c in free), ranked[0])
        if colour in free:
            free.remove(colour)
        colours[activity] = colour
    return colours


def _sort_orders(agents: list[Agent]) -> dict[str, tuple[list[str], list[str]]]:
    """Per sort: the agents' ARNs top to bottom and their axis labels."""
    orders = {}
    for key, _ in SORTS:
        if key == "name":
            ranked = sorted(agents, key=lambda a: (a.name.lower(), a.label))
            labels = [a.label for a in ranked]
        else:
            group = (
                (lambda a: a.routing_profile)
                if key == "routing_profile"
                else (lambda a: a.hierarchy)
            )
            ranked = sorted(agents, key=lambda a: ((group(a) or "~").lower(), a.name.lower()))
            labels = [f"{group(a) or '(none)'} · {a.label}" for a in ranked]
        orders[key] = ([a.agent_arn for a in ranked], labels)
    return orders


def timeline_figure(data: DayData) -> go.Figure:
    """Agents down, time across: one bar per activity segment, coloured by activity."""
    agents = [a for a in data.agents.values() if a.segments]
    orders = _sort_orders(agents)
    by_activity: dict[str, list[dict]] = defaultdict(list)
    for segment in data.segments:
        by_activity[segment["activity"]].append(segment)
    known = [a for a in ACTIVITY_COLOURS if a in by_activity and a != "Offline"]
    custom = sorted(a for a in by_activity if a not in ACTIVITY_COLOURS)
    offline = ["Offline"] if "Offline" in by_activity else []
    fig = go.Figure()
    zone = data.tz
    colours = _colours(list(by_activity))
    for activity in [*known, *custom, *offline]:
        rows = by_activity[activity]
        custom_data = [
            [
                data.agents[s["agent_arn"]].name,
                _stamp(s["started_at"], zone),
                _stamp(s["ended_at"], zone) if s["ended_at"] else "open (at the latest event)",
                s["status_name"] or "—",
                s["contacts"] if s["contacts"] is not None else 0,
                _duration(((s["ended_at"] or s["bar_end"]) - s["started_at"]).total_seconds()),
            ]
            for s in rows
        ]
        fig.add_trace(
            go.Bar(
                name=activity,
                orientation="h",
                y=[s["agent_arn"] for s in rows],
                base=[_local(s["bar_start"], zone) for s in rows],
                x=[(s["bar_end"] - s["bar_start"]).total_seconds() * 1000 for s in rows],
                marker={"color": colours[activity], "line": {"width": 0}},
                customdata=custom_data,
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>" + activity + "<br>start %{customdata[1]}"
                    "<br>end %{customdata[2]}<br>status %{customdata[3]}"
                    "<br>contacts %{customdata[4]}<br>%{customdata[5]}<extra></extra>"
                ),
            )
        )
    arns, labels = orders["name"]
    buttons = [
        {
            "label": f"Sort by {title.lower()}",
            "method": "relayout",
            "args": [
                {
                    "yaxis.categoryarray": orders[key][0],
                    "yaxis.tickvals": orders[key][0],
                    "yaxis.ticktext": orders[key][1],
                }
            ],
        }
        for key, title in SORTS
    ]
    fig.update_layout(
        barmode="overlay",
        bargap=0.25,
        height=140 + 26 * max(len(agents), 1),
        margin={"l": 10, "r": 10, "t": 40, "b": 40},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0.35},
        hoverlabel={"align": "left"},
        xaxis={
            "type": "date",
            "range": [_local(data.start, zone), _local(data.end, zone)],
            "title": {"text": f"time ({zone.key})"},
            "tickformat": "%H:%M",
            "showgrid": True,
        },
        yaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": arns,
            "tickvals": arns,
            "ticktext": labels,
            "autorange": "reversed",
            "automargin": True,
        },
        updatemenus=[
            {
                "type": "dropdown",
                "buttons": buttons,
                "x": 0,
                "xanchor": "left",
                "y": 1.0,
                "yanchor": "bottom",
                "pad": {"b": 4},
                "showactive": True,
            }
        ],
    )
    return fig


def floor_figure(data: DayData) -> go.Figure:
    """Per 15 minutes: the floor's online time stacked by activity, and occupancy as a line."""
    zone = data.tz
    mids = [_local(row["interval_start"] + INTERVAL / 2, zone) for row in data.floor]
    starts = [row["interval_start"].astimezone(zone).strftime("%H:%M") for row in data.floor]
    fig = go.Figure()
    for i, (label, colour, _) in enumerate(FLOOR_PARTS):
        seconds = [max(row[f"part_{i}"] or 0.0, 0.0) for row in data.floor]
        if not any(seconds):
            continue
        fig.add_trace(
            go.Bar(
                name=label,
                x=mids,
                y=[s / INTERVAL.total_seconds() for s in seconds],
                width=INTERVAL.total_seconds() * 1000 * 0.92,
                marker={"color": colour, "line": {"width": 0}},
                customdata=[[start, s / 60] for start, s in zip(starts, seconds, strict=True)],
                hovertemplate=(
                    label + " from %{customdata[0]}: %{y:.1f} agents "
                    "(%{customdata[1]:,.0f} agent-minutes)<extra></extra>"
                ),
            )
        )
    fig.add_trace(
        go.Scatter(
            name="Occupancy",
            x=mids,
            y=[
                row["occupancy"] * 100 if row["occupancy"] is not None else None
                for row in data.floor
            ],
            yaxis="y2",
            mode="lines+markers",
            line={"color": "#222222", "width": 2},
            marker={"size": 4},
            connectgaps=False,
            customdata=starts,
            hovertemplate="occupancy from %{customdata}: %{y:.0f}%<extra></extra>",
        )
    )
    fig.update_layout(
        barmode="stack",
        height=420,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"},
        xaxis={
            "type": "date",
            "range": [_local(data.start, zone), _local(data.end, zone)],
            "title": {"text": f"15-minute interval ({zone.key})"},
            "tickformat": "%H:%M",
        },
        yaxis={
            "title": {"text": "agents online (average over the interval)"},
            "rangemode": "tozero",
        },
        yaxis2={
            "title": {"text": "occupancy (%)"},
            "overlaying": "y",
            "side": "right",
            "range": [0, 105],
            "tickvals": [0, 20, 40, 60, 80, 100],
            "ticksuffix": "%",
            "showgrid": False,
        },
    )
    return fig


def _duration(seconds: float | None) -> str:
    """Seconds as H:MM:SS (or M:SS under an hour); a dash when unknown."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _figure_html(fig: go.Figure, div_id: str, include_plotlyjs: bool) -> str:
    """A figure as a div and its script, plotly.js itself inline when asked."""
    return fig.to_html(
        full_html=False,
        include_plotlyjs=include_plotlyjs,
        div_id=div_id,
        config=PLOTLY_CONFIG,
        default_height=f"{fig.layout.height}px",
    )


def _table_rows(data: DayData) -> list[dict]:
    """The per-agent table: one row per agent of the day, values and their sort keys."""
    rows = []
    for agent in sorted(data.agents.values(), key=lambda a: (a.name.lower(), a.label)):
        f = agent.figures or {}
        cells = [
            (agent.name, agent.name.lower()),
            (agent.label, agent.label.lower()),
            (agent.routing_profile or "—", (agent.routing_profile or "~").lower()),
            (agent.hierarchy or "—", (agent.hierarchy or "~").lower()),
        ]
        for key in (
            "online_seconds",
            "npt_seconds",
            "idle_seconds",
            "on_contact_seconds",
            "after_contact_work_seconds",
        ):
            value = f.get(key)
            cells.append((_duration(value), value if value is not None else -1))
        occupancy = f.get("occupancy")
        cells.append(
            (
                f"{occupancy:.0%}" if occupancy is not None else "—",
                occupancy if occupancy is not None else -1,
            )
        )
        for key in ("contacts_handled", "contacts_missed"):
            value = f.get(key)
            cells.append(
                (f"{value:,}" if value is not None else "—", value if value is not None else -1)
            )
        aht = f.get("average_handle_seconds")
        cells.append((_duration(aht), aht if aht is not None else -1))
        rows.append({"cells": cells, "segments": agent.segments})
    return rows


TABLE_COLUMNS = (
    ("Agent", "text"),
    ("Username", "text"),
    ("Routing profile", "text"),
    ("Hierarchy group", "text"),
    ("Online", "number"),
    ("NPT", "number"),
    ("Idle", "number"),
    ("On contact", "number"),
    ("ACW", "number"),
    ("Occupancy", "number"),
    ("Handled", "number"),
    ("Missed", "number"),
    ("Avg handle", "number"),
)


def render_day(data: DayData, days_with_data: list[date]) -> str:
    """A day's page as one self-contained HTML document."""
    charts = []
    plotly_included = False
    if data.segments:
        charts.append(("timeline", timeline_figure(data)))
    if data.floor:
        charts.append(("floor", floor_figure(data)))
    html = {}
    for div_id, fig in charts:
        html[div_id] = _figure_html(fig, div_id, include_plotlyjs=not plotly_included)
        plotly_included = True
    previous = max((d for d in days_with_data if d < data.day), default=None)
    following = min((d for d in days_with_data if d > data.day), default=None)
    return TEMPLATES.get_template("report_day.html.j2").render(
        d=data,
        title=f"Agent activity, {data.day:%A %d %B %Y}",
        generated_at=_stamp(datetime.now(UTC), data.tz),
        horizon=_stamp(data.horizon, data.tz),
        timeline_html=html.get("timeline"),
        floor_html=html.get("floor"),
        columns=TABLE_COLUMNS,
        rows=_table_rows(data),
        segments_total=len(data.segments),
        agents_total=sum(1 for a in data.agents.values() if a.segments),
        handled=sum((a.figures or {}).get("contacts_handled") or 0 for a in data.agents.values()),
        missed_contacts=sum(
            (a.figures or {}).get("contacts_missed") or 0 for a in data.agents.values()
        ),
        missing=data.missing,
        rejections=[
            {
                **r,
                "where": "whole object"
                if r["byte_offset"] is None
                else f"byte {r['byte_offset']:,}",
                "rejected_at": _stamp(r["rejected_at"], data.tz),
            }
            for r in data.rejections
        ],
        gaps=[
            {
                "agent": data.agents[g["agent_arn"]].label
                if g["agent_arn"] in data.agents
                else g["agent_arn"].rsplit("/", 1)[-1],
                "from": _stamp(g["started_at"], data.tz),
                "to": _stamp(g["ended_at"], data.tz),
                "length": _duration(g["gap_seconds"]),
                "status": g["status_name"] or "—",
            }
            for g in data.gaps
        ],
        missing_hours=[_stamp(h, data.tz)[:16] for h in data.missing_hours],
        duplicates=data.duplicates,
        runs=[
            {
                **r,
                "started": _stamp(r["started_at"], data.tz),
                "ended": _stamp(r["ended_at"], data.tz),
            }
            for r in data.runs
        ],
        new_fields=sorted(Counter(f for r in data.runs for f in r["new_fields"])),
        previous=previous,
        following=following,
    )


def render_index(
    out: Path, days_with_data: list[date], summaries: dict[date, dict], tz: ZoneInfo
) -> str:
    """The index: every day with data or a page, newest first, with its headline figures."""
    pages = {date.fromisoformat(p.stem) for p in out.glob("????-??-??.html") if _is_iso_day(p.stem)}
    days = sorted(set(days_with_data) | pages, reverse=True)
    return TEMPLATES.get_template("report_index.html.j2").render(
        tz=tz.key,
        generated_at=_stamp(datetime.now(UTC), tz),
        days=[
            {
                "day": day,
                "page": f"{day.isoformat()}.html" if day in pages else None,
                "summary": summaries.get(day),
                "has_data": day in days_with_data,
            }
            for day in days
        ],
    )


def _is_iso_day(text: str) -> bool:
    """Whether the text is a YYYY-MM-DD date."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
