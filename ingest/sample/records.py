"""Record builders: agent snapshots, contacts and whole agent events (used by tests too)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from types import EllipsisType
from typing import Any

from ingest.sample.ids import (
    _NS,
    ACCOUNT_ID,
    CHANNELS,
    INSTANCE_ARN,
    STATUS_TYPES,
    VERSION,
    _queue,
    _stable_id,
    agent_arn,
    agent_queue,
    iso_ms,
    standard_queue_arn,
    status_arn,
    to_ms,
)

# ---------------------------------------------------------------------------- record parts


def _status(
    name: str, start: str, arn: str | None = None, *, with_type: bool = True
) -> dict[str, Any]:
    """An AgentStatus object (older records have no Type)."""
    status = {"ARN": arn or status_arn(name), "Name": name, "StartTimestamp": start}
    if with_type:
        status["Type"] = STATUS_TYPES.get(name, "CUSTOM")
    return status


def _next_status(name: str, enqueued: str, arn: str | None = None) -> dict[str, Any]:
    """A NextAgentStatus object."""
    return {"ARN": arn or status_arn(name), "Name": name, "EnqueuedTimestamp": enqueued}


def _concurrency(maxes: Sequence[tuple[str, int]], contacts: Iterable[dict]) -> list[dict]:
    """Concurrency entries: AvailableSlots = MaximumSlots - contacts of that channel in the list."""
    used: dict[str, int] = {}
    for item in contacts:
        used[item["Channel"]] = used.get(item["Channel"], 0) + 1
    return [
        {"AvailableSlots": top - used.get(chan, 0), "Channel": chan, "MaximumSlots": top}
        for chan, top in maxes
    ]


def _hierarchy(site: str, team: str) -> dict[str, Any]:
    """AgentHierarchyGroups with Level1 = site and Level2 = team."""
    group = f"{INSTANCE_ARN}/agent-group/"
    return {
        "Level1": {"ARN": group + _stable_id("site", site), "Name": site},
        "Level2": {"ARN": group + _stable_id("team", f"{site}/{team}"), "Name": f"{site} {team}"},
        "Level3": None,
        "Level4": None,
        "Level5": None,
    }


def routing_profile(
    name: str = "Basic Routing Profile",
    *,
    voice: int = 1,
    chat: int = 3,
    task: int = 1,
    queues: Sequence[str] = ("BasicQueue", "ChatQueue", "TaskQueue"),
    outbound_queue: str = "OutboundQueue",
) -> dict[str, Any]:
    """A RoutingProfile object (agent_event adds the agent queue and recomputes AvailableSlots)."""
    maxes = [(c, n) for c, n in zip(CHANNELS, (voice, chat, task), strict=True) if n > 0]
    return {
        "ARN": f"{INSTANCE_ARN}/routing-profile/{_stable_id('routing-profile', name)}",
        "Concurrency": _concurrency(maxes, ()),
        "DefaultOutboundQueue": _queue(outbound_queue),
        "InboundQueues": [_queue(q) for q in queues],
        "Name": name,
    }


def _agent_profile(profile: dict, agent: str, contacts: Iterable[dict]) -> dict[str, Any]:
    """A routing profile as seen in one agent's snapshot."""
    maxes = [(c["Channel"], c["MaximumSlots"]) for c in profile.get("Concurrency", ())]
    queues = list(profile["InboundQueues"])
    if not any(q["Name"] is None for q in queues):
        queues.insert(0, agent_queue(agent, [c for c, _ in maxes] or CHANNELS))
    return {**profile, "Concurrency": _concurrency(maxes, contacts), "InboundQueues": queues}


def _snapshot(
    status: dict, next_status: dict | None, configuration: dict, contacts: list[dict]
) -> dict[str, Any]:
    """One agent snapshot."""
    return {
        "AgentStatus": status,
        "NextAgentStatus": next_status,
        "Configuration": configuration,
        "Contacts": contacts,
    }


def _configuration(
    username: str, first: str, last: str, hierarchy: dict | None, profile: dict
) -> dict[str, Any]:
    """A snapshot Configuration object."""
    return {
        "AgentHierarchyGroups": hierarchy,
        "FirstName": first,
        "LastName": last,
        "RoutingProfile": profile,
        "Username": username,
    }


def _record(
    arn: str, current: Any, event_id: str, at: str, event_type: str, previous: Any
) -> dict[str, Any]:
    """A whole agent event; previous None means the key is omitted."""
    record = {
        "AWSAccountId": ACCOUNT_ID,
        "AgentARN": arn,
        "CurrentAgentSnapshot": current,
        "EventId": event_id,
        "EventTimestamp": at,
        "EventType": event_type,
        "InstanceARN": INSTANCE_ARN,
    }
    if previous is not None:
        record["PreviousAgentSnapshot"] = previous
    record["Version"] = VERSION
    return record


# ---------------------------------------------------------------------------- test builders


def contact(
    contact_id: str,
    state: str,
    state_start: datetime,
    *,
    channel: str = "VOICE",
    initiation_method: str = "INBOUND",
    queue: str | None = "BasicQueue",
    queue_arn: str | None = None,
    connected_at: datetime | None = None,
    queued_at: datetime | None = None,
    initial_contact_id: str | None = None,
) -> dict[str, Any]:
    """One entry of a snapshot's Contacts list."""
    return {
        "Channel": channel,
        "ConnectedToAgentTimestamp": iso_ms(to_ms(connected_at)) if connected_at else None,
        "ContactId": contact_id,
        "InitialContactId": initial_contact_id,
        "InitiationMethod": initiation_method,
        "Queue": {"ARN": queue_arn or standard_queue_arn(queue or "unnamed"), "Name": queue},
        "QueueTimestamp": iso_ms(to_ms(queued_at)) if queued_at else None,
        "State": state,
        "StateStartTimestamp": iso_ms(to_ms(state_start)),
    }


def agent_event(
    event_type: str,
    at: datetime,
    *,
    agent: str = "agent-1",
    status: str = "Available",
    status_start: datetime | None = None,
    previous_status: str | EllipsisType = ...,
    previous_status_start: datetime | EllipsisType | None = ...,
    contacts: Sequence[dict] = (),
    previous_contacts: Sequence[dict] = (),
    routing_profile: dict | None = None,
    previous_routing_profile: dict | EllipsisType | None = ...,
    next_status: str | None = None,
    next_status_at: datetime | None = None,
    previous_next_status: str | None = None,
    event_id: str | None = None,
    with_previous: bool = True,
    username: str | None = None,
    first_name: str = "Test",
    last_name: str = "Agent",
    hierarchy: dict | None = None,
    with_type: bool = True,
) -> dict[str, Any]:
    """A hand-built agent event; previous_* default to the current values."""
    start = status_start or at
    prev_name = status if previous_status is ... else previous_status
    if previous_status_start is ...:
        previous_status_start = start if prev_name == status else at - timedelta(minutes=1)
    profile = routing_profile or _default_profile()
    prev_profile = profile if previous_routing_profile is ... else previous_routing_profile
    user = username or agent

    def snap(name: str, begun: datetime, nxt: str | None, items: Sequence[dict], rp: dict) -> dict:
        """One snapshot of this hand-built agent."""
        config = _configuration(
            user, first_name, last_name, hierarchy, _agent_profile(rp, agent, items)
        )
        enqueued = iso_ms(to_ms(next_status_at or at))
        nxt_obj = _next_status(nxt, enqueued) if nxt else None
        status = _status(name, iso_ms(to_ms(begun)), with_type=with_type)
        return _snapshot(status, nxt_obj, config, list(items))

    current = snap(status, start, next_status, contacts, profile)
    previous = None
    if with_previous:
        prev_start = previous_status_start or start
        prev_rp = prev_profile or profile
        previous = snap(prev_name, prev_start, previous_next_status, previous_contacts, prev_rp)
    eid = event_id or str(uuid.uuid5(_NS, f"{agent}:{event_type}:{to_ms(at)}"))
    return _record(agent_arn(agent), current, eid, iso_ms(to_ms(at)), event_type, previous)


def _default_profile() -> dict[str, Any]:
    """The routing profile hand-built events use by default."""
    return routing_profile()
