"""Flatten nested agent events into the frames of the raw tables."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ingest.parsing import parse_timestamp

SNAPSHOTS = {"current": "CurrentAgentSnapshot", "previous": "PreviousAgentSnapshot"}
KEYS = ("event_id", "source_object", "byte_offset")
# The record text, already checked as JSON by the parser, typed so that DuckDB takes it as its
# JSON type as it is: a cast from text would parse every record once more.
JSON_TEXT = pl.Extension("arrow.json", pl.String)


@dataclass(frozen=True)
class RawFrames:
    """One frame per raw table: events and their contacts, concurrency and queues."""

    events: pl.DataFrame
    contacts: pl.DataFrame
    concurrency: pl.DataFrame
    queues: pl.DataFrame
    unreadable_timestamps: int = 0


def flatten(nested: pl.DataFrame) -> RawFrames:
    """The raw tables' rows for parsed events."""
    base = nested.lazy().with_columns(event_id=pl.col("EventId"))
    frames = pl.collect_all(
        [
            _events(base),
            pl.concat([_contacts(base, snap) for snap in SNAPSHOTS]),
            pl.concat([_concurrency(base, snap) for snap in SNAPSHOTS]),
            pl.concat([_queues(base, snap) for snap in SNAPSHOTS]),
            _unreadable_timestamps(base),
        ]
    )
    return RawFrames(*frames[:4], unreadable_timestamps=frames[4].item())


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


def _concurrency(base: pl.LazyFrame, snap: str) -> pl.LazyFrame:
    """One row per channel of a snapshot's routing-profile concurrency."""
    rows = _exploded(base, snap, _profile(snap).struct.field("Concurrency"))
    slot = pl.col("item")
    return rows.select(
        "event_id",
        "snapshot",
        channel=slot.struct.field("Channel"),
        available_slots=slot.struct.field("AvailableSlots"),
        maximum_slots=slot.struct.field("MaximumSlots"),
        source_object="source_object",
        byte_offset="byte_offset",
    )


def _queues(base: pl.LazyFrame, snap: str) -> pl.LazyFrame:
    """One row per inbound queue and one for the default outbound queue of a snapshot."""
    profile = _profile(snap)
    inbound = _exploded(base, snap, profile.struct.field("InboundQueues")).with_columns(
        is_default_outbound=pl.lit(False)
    )
    outbound = (
        base.select(*KEYS, item=profile.struct.field("DefaultOutboundQueue"))
        .filter(pl.col("item").is_not_null())
        .with_columns(snapshot=pl.lit(snap), is_default_outbound=pl.lit(True))
    )
    columns = dict(
        queue_arn=pl.col("item").struct.field("ARN"),
        queue_name=pl.col("item").struct.field("Name"),
        channels=pl.col("item").struct.field("Channels"),
    )
    order = [
        "event_id",
        "snapshot",
        *columns,
        "is_default_outbound",
        "source_object",
        "byte_offset",
    ]
    return pl.concat([frame.with_columns(**columns).select(order) for frame in (inbound, outbound)])
