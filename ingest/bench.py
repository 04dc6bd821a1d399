"""Benchmark: the ingest beside two DuckDB-only loads of the same generated archive, one run.

The references, each in its own child process like the ingest:

- `read_json` auto: DuckDB's `read_json(..., format='auto')` into a nested table, what a user
  would type by hand;
- DuckDB SQL load: the same raw tables as the ingest, by SQL alone: `read_json_objects` with
  `ignore_errors`, `json_transform` into the event schema, `unnest` into the child tables and
  the routing-profile configurations content-addressed in SQL (md5 of their JSON). It does the
  ingest's work without exact byte offsets, per-record quarantine, the strict JSON checks and the
  manifest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.parsing import EVENT_SCHEMA, json_structure
from ingest.sample import events_for_target, generate_archive

SCHEMA_SQL = Path(__file__).with_name("schema.sql")
INGEST_RSS_GOAL_MIB = 512
GOALS = {"read_json auto": 1.0, "DuckDB SQL load": 1.5}  # the ingest's events/s over theirs


@dataclass(frozen=True)
class Measure:
    """Wall time, CPU time and peak memory of one child process."""

    seconds: float
    cpu_seconds: float
    peak_rss_mib: float


def measure(args: list[str]) -> Measure:
    """Run a command to completion; its wall time, CPU time (user + system) and peak memory."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{args[0]} failed with status {status}")
    return Measure(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def archive_for(events: int, root: Path) -> tuple[Path, int, int]:
    """The generated archive for a target size (made once, then reused); path, events, bytes."""
    agents, days = events_for_target(events)
    path = root / f"agents{agents}-days{days}"
    done = path / ".complete"
    if not done.exists():
        shutil.rmtree(path, ignore_errors=True)
        stats = generate_archive(path, agents=agents, days=days)
        done.write_text(str(stats.events))
    size = sum(p.stat().st_size for p in path.rglob("*.gz"))
    return path, int(done.read_text()), size


def read_json_auto(archive: Path, warehouse: Path) -> None:
    """Reference (a): DuckDB's read_json with format 'auto' into a nested table."""
    with duckdb.connect(str(warehouse)) as con:
        files = f"{archive}/**/*.gz"
        con.execute("create table events as select * from read_json(?, format='auto')", [files])


def _snapshot_columns(snap: str, root: str) -> list[str]:
    """SQL for one snapshot's flattened columns of raw.agent_events."""
    status, following = f"{root}.AgentStatus", f"{root}.NextAgentStatus"
    config, profile = f"{root}.Configuration", f"{root}.Configuration.RoutingProfile"
    enqueued = f"coalesce({following}.EnqueuedTimestamp, {following}.EnqueueTimestamp)"
    columns = [
        f"{status}.ARN as {snap}_status_arn",
        f"{status}.Name as {snap}_status_name",
        f"{status}.Type as {snap}_status_type",
        f"try_cast({status}.StartTimestamp as timestamptz) as {snap}_status_started_at",
        f"{following}.ARN as {snap}_next_status_arn",
        f"{following}.Name as {snap}_next_status_name",
        f"try_cast({enqueued} as timestamptz) as {snap}_next_status_enqueued_at",
        f"{config}.Username as {snap}_username",
        f"{config}.FirstName as {snap}_first_name",
        f"{config}.LastName as {snap}_last_name",
    ]
    for n in range(1, 6):
        level = f"{config}.AgentHierarchyGroups.Level{n}"
        columns += [
            f"{level}.ARN as {snap}_hierarchy_level{n}_arn",
            f"{level}.Name as {snap}_hierarchy_level{n}_name",
        ]
    return [
        *columns,
        f"{profile}.ARN as {snap}_routing_profile_arn",
        f"{profile}.Name as {snap}_routing_profile_name",
        f"len({root}.Contacts)::integer as {snap}_contact_count",
        f"md5(to_json({profile})) as {snap}_routing_profile_configuration_key",
    ]


SNAPSHOT_ROOTS = {"current": "r.CurrentAgentSnapshot", "previous": "r.PreviousAgentSnapshot"}


def _sql_load_statements() -> list[str]:
    """The statements of reference (b), in order, after the ingest's schema.sql."""
    snapshots = [c for snap, root in SNAPSHOT_ROOTS.items() for c in _snapshot_columns(snap, root)]
    profiles = " union all ".join(
        f"select md5(to_json({root}.Configuration.RoutingProfile)) as k,"
        f" {root}.Configuration.RoutingProfile as p, source_object from parsed"
        f" where {root}.Configuration.RoutingProfile is not null"
        for root in SNAPSHOT_ROOTS.values()
    )
    contacts = " union all ".join(
        f"select r.EventId as event_id, '{snap}' as snapshot, source_object,"
        f" unnest({root}.Contacts) as c,"
        f" generate_subscripts({root}.Contacts, 1) - 1 as contact_position from parsed"
        for snap, root in SNAPSHOT_ROOTS.items()
    )
    return [
        "create temp table parsed as select filename as source_object, json as record,"
        " json_transform(json, $structure) as r"
        " from read_json_objects($files, format='auto', ignore_errors=true, filename=true)",
        "insert into raw.agent_events by name select r.EventId as event_id,"
        " r.EventType as event_type, try_cast(r.EventTimestamp as timestamptz) as event_timestamp,"
        " r.Version as version, r.AWSAccountId as aws_account_id, r.AgentARN as agent_arn,"
        " regexp_extract(r.AgentARN, '/agent/([^/]+)$', 1) as agent_id,"
        " r.InstanceARN as instance_arn,"
        " r.PreviousAgentSnapshot is not null as has_previous_snapshot,"
        f" {', '.join(snapshots)}, source_object, 0 as byte_offset, now() as ingested_at, record"
        " from parsed where r.EventId is not null and r.AgentARN is not null"
        " and try_cast(r.EventTimestamp as timestamptz) is not null and r.EventType is not null",
        "insert into raw.agent_event_contacts by name select event_id, snapshot,"
        " contact_position, c.ContactId as contact_id, c.InitialContactId as initial_contact_id,"
        " c.Channel as channel, c.InitiationMethod as initiation_method, c.State as state,"
        " try_cast(c.StateStartTimestamp as timestamptz) as state_started_at,"
        " try_cast(c.ConnectedToAgentTimestamp as timestamptz) as connected_to_agent_at,"
        " try_cast(c.QueueTimestamp as timestamptz) as queued_at, c.Queue.ARN as queue_arn,"
        " c.Queue.Name as queue_name, source_object, 0 as byte_offset"
        f" from ({contacts}) where c is not null",
        "create temp table new_profiles as select distinct on (k) k, p, source_object"
        f" from ({profiles}) where k not in"
        " (select routing_profile_configuration_key from raw.routing_profile_configurations)",
        "insert into raw.routing_profile_configurations by name select"
        " k as routing_profile_configuration_key, p.ARN as routing_profile_arn,"
        " p.Name as routing_profile_name, source_object as first_source_object,"
        " 0 as first_byte_offset, now() as first_ingested_at from new_profiles",
        "insert into raw.agent_event_concurrency by name select k as"
        " routing_profile_configuration_key, s.Channel as channel,"
        " s.AvailableSlots as available_slots, s.MaximumSlots as maximum_slots"
        " from (select k, unnest(p.Concurrency) as s from new_profiles) where s is not null",
        "insert into raw.agent_event_queues by name select k as routing_profile_configuration_key,"
        " q.ARN as queue_arn, q.Name as queue_name, q.Channels as channels, is_default_outbound"
        " from (select k, unnest(p.InboundQueues) as q, false as is_default_outbound"
        " from new_profiles union all select k, p.DefaultOutboundQueue, true from new_profiles)"
        " where q is not null",
    ]


def sql_load(archive: Path, warehouse: Path) -> None:
    """Reference (b): the ingest's raw tables loaded by DuckDB SQL alone, in one transaction."""
    structure = json.dumps({n: json_structure(t) for n, t in EVENT_SCHEMA.items()})
    with duckdb.connect(str(warehouse)) as con:
        con.execute(SCHEMA_SQL.read_text())
        con.begin()
        first, *rest = _sql_load_statements()
        con.execute(first, {"structure": structure, "files": f"{archive}/**/*.gz"})
        for sql in rest:
            con.execute(sql)
        con.commit()


REFERENCES = {"read_json auto": read_json_auto, "DuckDB SQL load": sql_load}


def main() -> None:
    """Print seconds, events/s, MB/s, peak RSS and CPU of the ingest and both references."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--archives", type=Path, default=Path("bench-archive"))
    parser.add_argument("--reference", choices=list(REFERENCES), help=argparse.SUPPRESS)
    parser.add_argument("--archive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:  # a child process of the benchmark
        REFERENCES[args.reference](args.archive, args.warehouse)
        return
    archive, events, size = archive_for(args.events, args.archives)
    mb = size / 1e6
    results: dict[str, Measure] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cli = str(Path(sys.executable).with_name("connect-warehouse"))
        results["ingest (this project)"] = measure(
            [cli, "ingest", "--source", str(archive), "--warehouse", f"{tmp}/ours.duckdb"]
        )
        for n, name in enumerate(REFERENCES):
            results[name] = measure(
                [
                    *(sys.executable, "-m", "ingest.bench", "--reference", name),
                    *("--archive", str(archive), "--warehouse", f"{tmp}/ref{n}.duckdb"),
                ]
            )
    _report(results, archive, events, mb)


def _report(results: dict[str, Measure], archive: Path, events: int, mb: float) -> None:
    """The table of measures, both ratios with their goals and the memory verdict."""
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"archive: {events:,} events, {mb:,.1f} MB gzip, {archive}")
    print(
        f"{'':24}{'seconds':>9}{'events/s':>11}{'MB/s':>8}{'peak RSS':>13}{'CPU s':>8}{'cores':>7}"
    )
    for name, m in results.items():
        print(
            f"{name:24}{m.seconds:9.1f}{events / m.seconds:11,.0f}"
            f"{mb / m.seconds:8.1f}{m.peak_rss_mib:9,.0f} MiB"
            f"{m.cpu_seconds:8.1f}{m.cpu_seconds / m.seconds:7.2f}"
        )
    ours = results["ingest (this project)"]
    for name, goal in GOALS.items():
        ratio = results[name].seconds / ours.seconds
        verdict = "met" if ratio >= goal else "not met"
        print(f"ratio, ingest / {name} events/s: {ratio:.2f}x (goal >= {goal:.1f}x: {verdict})")
        # on a shared machine the wall time follows the share of the cores each process got
        per_cpu = results[name].cpu_seconds / ours.cpu_seconds
        print(f"  the same per CPU second (events per CPU second): {per_cpu:.2f}x")
    within = ours.peak_rss_mib <= INGEST_RSS_GOAL_MIB
    print(
        f"ingest peak RSS: {ours.peak_rss_mib:,.0f} MiB"
        f" ({'within' if within else 'over'} the {INGEST_RSS_GOAL_MIB} MiB goal)"
    )


if __name__ == "__main__":
    main()
