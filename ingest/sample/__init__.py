"""Deterministic generator of a realistic Firehose archive of Amazon Connect agent events.

ids: identifiers and time helpers; records: record builders (public, used by tests to
hand-build events); simulation: the agents' shifts, statuses and contacts; firehose:
Firehose delivery into objects; archive: the entry points.
"""

from ingest.sample.archive import (
    EVENTS_PER_AGENT_DAY,
    SampleStats,
    events_for_target,
    generate_archive,
)
from ingest.sample.firehose import object_key, write_object
from ingest.sample.ids import (
    ACCOUNT_ID,
    CHANNELS,
    HEARTBEAT_MS,
    INSTANCE_ARN,
    STATUS_TYPES,
    agent_arn,
    agent_queue,
    iso_ms,
    standard_queue_arn,
    status_arn,
    to_ms,
)
from ingest.sample.records import agent_event, contact, routing_profile
from ingest.sample.simulation import agent_timelines

__all__ = [
    "ACCOUNT_ID",
    "CHANNELS",
    "EVENTS_PER_AGENT_DAY",
    "HEARTBEAT_MS",
    "INSTANCE_ARN",
    "STATUS_TYPES",
    "SampleStats",
    "agent_arn",
    "agent_event",
    "agent_queue",
    "agent_timelines",
    "contact",
    "events_for_target",
    "generate_archive",
    "iso_ms",
    "object_key",
    "routing_profile",
    "standard_queue_arn",
    "status_arn",
    "to_ms",
    "write_object",
]
