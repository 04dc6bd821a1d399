"""Flatten nested agent events into the frames of the raw tables."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import polars as pl

from ingest.parsing import parse_timestamp

SNAPSHOTS = {"current": "CurrentAgentSnapshot", "previous": "PreviousAgentSnapshot"}
KEYS = ("event_id", "source_object", "byte_offset")
# The record text, already checked as JSON by the parser, typed so that DuckDB takes it as its
# JSON type as it is: a cast from text would parse every record once more.
JSON_TEXT = pl.Extension("arrow.json", pl.String)


@dataclass(frozen=True)
class ArrowStream:
    """A frame as DuckDB scans it: through the Arrow C stream interface, without pyarrow."""

    frame: pl.DataFrame

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        """The frame's Arrow C stream capsule."""
        return self.frame.__arrow_c_stream__(requested_schema)


# The key of a routing-profile configuration: the MD5 of its canonical JSON (see configuration_key).
KEY = "routing_profile_configuration_key"


@dataclass(frozen=True)
class Configurations:
    """Distinct routing-profile configurations, their channels and queues, and each event's keys."""

    current_keys: pl.Series
    previous_keys: pl.Series
    configurations: pl.DataFrame
    concurrency: pl.DataFrame
    queues: pl.DataFrame


@dataclass(frozen=True)
class RawFrames:
    """One frame per raw table: events, contacts, and the configurations with their children."""

    events: pl.DataFrame
    contacts: pl.DataFrame
    configurations: pl.DataFrame
    concurrency: pl.DataFrame
    queues: pl.DataFrame
    unreadable_timestamps: int = 0


def flatten(nested: pl.DataFrame) -> RawFrames:
    """The raw tables' rows for parsed events."""
    base = nested.lazy().with_columns(event_id=pl.col("EventId"))
    events, contacts, unreadable = pl.collect_all(
        [
            _events(base),
            pl.concat([_contacts(base, snap) for snap in SNAPSHOTS]),
            _unreadable_timestamps(base),
        ]
    )
    profiles = nested.select(
        "source_object",
        "byte_offset",
        current=_profile("current"),
        previous=_profile("previous"),
    )
    found = configurations(profiles)
    events = events.with_columns(
        found.current_keys.alias(f"current_{KEY}"), found.previous_keys.alias(f"previous_{KEY}")
    )
    return RawFrames(
        events,
        contacts,
        found.configurations,
        found.concurrency,
        found.queues,
        unreadable_timestamps=unreadable.item(),
    )


def configurations(profiles: pl.DataFrame) -> Configurations:
    """The distinct configurations among snapshots' routing profiles, and each snapshot's key.

    `profiles` has a routing-profile struct per event in `current` and `previous`, and the
    event's `source_object` and `byte_offset` (where a configuration was first seen). Equal
    profiles are found by a 128-bit hash of the struct (two seeds of Polars' hash), only within
    this frame; the key itself is the MD5 of the canonical JSON of each distinct one, computed
    in Python, so it does not depend on Polars.
    """
    tokens = pl.concat(
        [
            profiles.select(
                snap=pl.lit(n, dtype=pl.UInt8),
                row=pl.int_range(pl.len(), dtype=pl.UInt32),
                present=pl.col(snap).is_not_null(),
                h0=pl.col(snap).hash(0),
                h1=pl.col(snap).hash(1),
            )
            for n, snap in enumerate(SNAPSHOTS)
        ]
    )
    firsts = tokens.filter("present").unique(["h0", "h1"], keep="first", maintain_order=True)
    distinct = pl.concat(
        [
            profiles.select("source_object", "byte_offset", profile=snap).gather(
                firsts.filter(pl.col("snap") == n).get_column("row")
            )
            for n, snap in enumerate(SNAPSHOTS)
        ]
    ).with_columns(firsts.sort("snap", maintain_order=True).select("h0", "h1"))
    keys = [configuration_key(p) for p in distinct.get_column("profile").to_list()]
    distinct = distinct.with_columns(pl.Series(KEY, keys, dtype=pl.String))
    keyed = (
        tokens.join(
            distinct.select("h0", "h1", KEY), on=["h0", "h1"], how="left", maintain_order="left"
        )
        .select(pl.when("present").then(pl.col(KEY)))
        .to_series()
    )
    rows = profiles.height
    chosen = distinct.unique(KEY, keep="first", maintain_order=True)
    return Configurations(
        current_keys=keyed.slice(0, rows),
        previous_keys=keyed.slice(rows, rows),
        configurations=chosen.select(
            KEY,
            routing_profile_arn=pl.col("profile").struct.field("ARN"),
            routing_profile_name=pl.col("profile").struct.field("Name"),
            first_source_object="source_object",
            first_byte_offset="byte_offset",
        ),
        concurrency=_concurrency(chosen),
        queues=_queues(chosen),
    )


def configuration_key(profile: dict) -> str:
    """The MD5 (hex) of a routing profile's canonical JSON: exactly the fields stored for it.

    The canonical form is a JSON array in a fixed order (ARN, Name, concurrency as
    [channel, available, maximum] per channel, the default outbound queue and the inbound
    queues as [ARN, Name, Channels]), list entries that are null left out as they are not
    stored, written by Python's json with ASCII escapes and no spaces: the same key in every
    run, whatever Polars' version.
    """
    canonical = [
        profile["ARN"],
        profile["Name"],
        [
            [slot["Channel"], slot["AvailableSlots"], slot["MaximumSlots"]]
            for slot in profile["Concurrency"] or ()
            if slot is not None
        ],
        _canonical_queue(profile["DefaultOutboundQueue"]),
        [_canonical_queue(q) for q in profile["InboundQueues"] or () if q is not None],
    ]
    text = json.dumps(canonical, ensure_ascii=True, separators=(",", ":"))
    return hashlib.md5(text.encode("ascii"), usedforsecurity=False).hexdigest()


def _canonical_queue(queue: dict | None) -> list | None:
    """A queue as [ARN, Name, Channels] (None when the profile has none)."""
    if queue is None:
        return None
    return [queue["ARN"], queue["Name"], queue["Channels"]]


def _ts(expr: pl.Expr) -> pl.Expr:
    """An RFC 3339 string as a UTC timestamp (null when unreadable)."""
    return parse_timestamp(expr)


def _unreadable(text: pl.Expr) -> pl.Expr:
    """Whether a timestamp text is there but cannot be read."""
    return text.is_not_null() & _ts(text).is_null()


def _unreadable_timestamps(base: pl.LazyFrame) -> pl.LazyFrame:
    """How many nested timestamp values of the events cannot be read (they load as NULL)."""
    counts = []
    for name in SNAPSHOTS.values():
        status = pl.col(name).struct.field("AgentStatus")
        following = pl.col(name).struct.field("NextAgentStatus")
        counts += [
            _unreadable(status.struct.field("StartTimestamp")).sum(),
            _unreadable(_enqueued(following)).sum(),
        ]
        contacts = pl.col(name).struct.field("Contacts").explode()
        counts += [
            _unreadable(contacts.struct.field(field)).sum()
            for field in ("StateStartTimestamp", "ConnectedToAgentTimestamp", "QueueTimestamp")
        ]
    return base.select(pl.sum_horizontal(counts).cast(pl.Int64).alias("unreadable"))


def _enqueued(following: pl.Expr) -> pl.Expr:
    """NextAgentStatus's enqueue time, under either of its documented spellings."""
    return pl.coalesce(
        following.struct.field("EnqueuedTimestamp"), following.struct.field("EnqueueTimestamp")
    )


def _events(base: pl.LazyFrame) -> pl.LazyFrame:
    """One row per record with both snapshots' scalars as columns."""
    return base.select(
        pl.col("event_id"),
        pl.col("EventType").alias("event_type"),
        pl.col("event_timestamp"),
        pl.col("Version").alias("version"),
        pl.col("AWSAccountId").alias("aws_account_id"),
        pl.col("AgentARN").alias("agent_arn"),
        pl.col("AgentARN").str.extract(r"/agent/([^/]+)$").alias("agent_id"),
        pl.col("InstanceARN").alias("instance_arn"),
        pl.col("PreviousAgentSnapshot").is_not_null().alias("has_previous_snapshot"),
        *_snapshot_scalars("current"),
        *_snapshot_scalars("previous"),
        pl.col("source_object", "byte_offset"),
        pl.col("record").ext.to(JSON_TEXT),
        pl.col("recovered_from_error_output"),
    )


def _snapshot_scalars(snap: str) -> list[pl.Expr]:
    """The scalar fields of one snapshot, named with its prefix."""
    root = pl.col(SNAPSHOTS[snap])
    status = root.struct.field("AgentStatus")
    following = root.struct.field("NextAgentStatus")
    config = root.struct.field("Configuration")
    groups = config.struct.field("AgentHierarchyGroups")
    profile = config.struct.field("RoutingProfile")
    levels = []
    for n in range(1, 6):
        level = groups.struct.field(f"Level{n}")
        levels += [
            level.struct.field("ARN").alias(f"{snap}_hierarchy_level{n}_arn"),
            level.struct.field("Name").alias(f"{snap}_hierarchy_level{n}_name"),
        ]
    enqueued = _enqueued(following)
    return [
        status.struct.field("ARN").alias(f"{snap}_status_arn"),
        status.struct.field("Name").alias(f"{snap}_status_name"),
        status.struct.field("Type").alias(f"{snap}_status_type"),
        _ts(status.struct.field("StartTimestamp")).alias(f"{snap}_status_started_at"),
        following.struct.field("ARN").alias(f"{snap}_next_status_arn"),
        following.struct.field("Name").alias(f"{snap}_next_status_name"),
        _ts(enqueued).alias(f"{snap}_next_status_enqueued_at"),
        config.struct.field("Username").alias(f"{snap}_username"),
        config.struct.field("FirstName").alias(f"{snap}_first_name"),
        config.struct.field("LastName").alias(f"{snap}_last_name"),
        *levels,
        profile.struct.field("ARN").alias(f"{snap}_routing_profile_arn"),
        profile.struct.field("Name").alias(f"{snap}_routing_profile_name"),
        root.struct.field("Contacts").list.len().cast(pl.Int32).alias(f"{snap}_contact_count"),
    ]


def _exploded(base: pl.LazyFrame, snap: str, items: pl.Expr) -> pl.LazyFrame:
    """One row per element of a list in a snapshot, with its event keys and position."""
    return (
        base.select(*KEYS, item=items, position=pl.int_ranges(0, items.list.len()))
        .explode("item", "position")
        .filter(pl.col("item").is_not_null())
        .with_columns(snapshot=pl.lit(snap))
    )


def _contacts(base: pl.LazyFrame, snap: str) -> pl.LazyFrame:
    """One row per contact in a snapshot's Contacts list."""
    rows = _exploded(base, snap, pl.col(SNAPSHOTS[snap]).struct.field("Contacts"))
    contact = pl.col("item")
    queue = contact.struct.field("Queue")
    return rows.select(
        "event_id",
        "snapshot",
        contact_position=pl.col("position").cast(pl.Int32),
        contact_id=contact.struct.field("ContactId"),
        initial_contact_id=contact.struct.field("InitialContactId"),
        channel=contact.struct.field("Channel"),
        initiation_method=contact.struct.field("InitiationMethod"),
        state=contact.struct.field("State"),
        state_started_at=_ts(contact.struct.field("StateStartTimestamp")),
        connected_to_agent_at=_ts(contact.struct.field("ConnectedToAgentTimestamp")),
        queued_at=_ts(contact.struct.field("QueueTimestamp")),
        queue_arn=queue.struct.field("ARN"),
        queue_name=queue.struct.field("Name"),
        source_object="source_object",
        byte_offset="byte_offset",
    )


def _profile(snap: str) -> pl.Expr:
    """A snapshot's routing profile struct."""
    return pl.col(SNAPSHOTS[snap]).struct.field("Configuration").struct.field("RoutingProfile")


def _configuration_items(chosen: pl.DataFrame, items: pl.Expr) -> pl.DataFrame:
    """One row per non-null element of a list in each configuration, with its key."""
    return chosen.select(KEY, item=items).explode("item").filter(pl.col("item").is_not_null())


def _concurrency(chosen: pl.DataFrame) -> pl.DataFrame:
    """One row per channel of each configuration's concurrency."""
    rows = _configuration_items(chosen, pl.col("profile").struct.field("Concurrency"))
    slot = pl.col("item")
    return rows.select(
        KEY,
        channel=slot.struct.field("Channel"),
        available_slots=slot.struct.field("AvailableSlots"),
        maximum_slots=slot.struct.field("MaximumSlots"),
    )


def _queues(chosen: pl.DataFrame) -> pl.DataFrame:
    """One row per inbound queue and one for the default outbound queue of each configuration."""
    profile = pl.col("profile")
    inbound = _configuration_items(chosen, profile.struct.field("InboundQueues")).with_columns(
        is_default_outbound=pl.lit(False)
    )
    outbound = (
        chosen.select(KEY, item=profile.struct.field("DefaultOutboundQueue"))
        .filter(pl.col("item").is_not_null())
        .with_columns(is_default_outbound=pl.lit(True))
    )
    return pl.concat([inbound, outbound]).select(
        KEY,
        queue_arn=pl.col("item").struct.field("ARN"),
        queue_name=pl.col("item").struct.field("Name"),
        channels=pl.col("item").struct.field("Channels"),
        is_default_outbound="is_default_outbound",
    )
