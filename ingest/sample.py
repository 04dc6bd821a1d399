"""Deterministic generator of a realistic Firehose archive of Amazon Connect agent events."""

from __future__ import annotations

import bisect
import functools
import gzip
import heapq
import itertools
import random
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import EllipsisType
from typing import Any

import orjson

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
INSTANCE_ID = "8d6f1c2e-4b7a-4e3f-9a1d-2c5b7e9f0a13"
INSTANCE_ARN = f"arn:aws:connect:{REGION}:{ACCOUNT_ID}:instance/{INSTANCE_ID}"
VERSION = "2017-10-01"
STREAM_NAME = "connect-agent-events"
STATUS_TYPES = {
    "Available": "ROUTABLE",
    "Break": "CUSTOM",
    "Lunch": "CUSTOM",
    "Training": "CUSTOM",
    "Offline": "OFFLINE",
}
CHANNELS = ("VOICE", "CHAT", "TASK")
QUEUE_CHANNELS = {
    "BasicQueue": ("VOICE",),
    "BillingQueue": ("VOICE",),
    "OutboundQueue": ("VOICE",),
    "ChatQueue": ("CHAT",),
    "TaskQueue": ("TASK",),
}
HEARTBEAT_MS = 120_000
BUFFER_MS = 300_000
BUFFER_BYTES = 5 * 1024 * 1024
MAX_ARRIVAL_DELAY_MS = 60_000
DUPLICATE_RATE = 0.005
_WRITERS = 1
EVENTS_PER_AGENT_DAY = 560

_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)
_NS = uuid.UUID("0b9f6d0e-6f0c-4c55-9a53-3f1d2a7c8e41")
_SECOND = 1000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_UNIX_ORDINAL = date(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SHIFT_STARTS_MIN = (360, 420, 480, 540, 600, 720, 840, 990)
_FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Isla", "Jon",
    "Kira", "Liam", "Mei", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
)  # fmt: skip
_LAST_NAMES = (
    "Adams", "Brown", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
    "Jones", "Khan", "Lopez", "Murphy", "Nakamura", "Okafor", "Patel", "Rossi", "Silva",
)  # fmt: skip
_SITES = ("Seattle", "Dublin", "Manila")
_TEAMS = ("Team A", "Team B")


@dataclass(frozen=True)
class SampleStats:
    """What generate_archive wrote: objects, distinct events, duplicate deliveries, agents, days."""

    objects: int
    events: int
    duplicates: int
    agents: int
    days: int


# ---------------------------------------------------------------------------- identifiers


def _uuid(rng: random.Random) -> str:
    """A version-4 UUID string drawn from rng (same text as uuid.UUID(int=..., version=4))."""
    n = (rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _stable_id(kind: str, name: str) -> str:
    """A UUID stable for one (kind, name)."""
    return str(uuid.uuid5(_NS, f"{kind}:{name}"))


def agent_arn(agent: str) -> str:
    """The AgentARN of an agent id."""
    return f"{INSTANCE_ARN}/agent/{agent}"


def status_arn(name: str) -> str:
    """The agent-state ARN of a status name (stable per name)."""
    return f"{INSTANCE_ARN}/agent-state/{_stable_id('agent-state', name)}"


def standard_queue_arn(name: str) -> str:
    """The queue ARN of a standard queue name (stable per name)."""
    return f"{INSTANCE_ARN}/queue/{_stable_id('queue', name)}"


def agent_queue(agent: str, channels: Sequence[str] = CHANNELS) -> dict[str, Any]:
    """The agent's own queue (Name null)."""
    return {"ARN": f"{INSTANCE_ARN}/queue/agent/{agent}", "Channels": list(channels), "Name": None}


def _queue(name: str, channels: Sequence[str] | None = None) -> dict[str, Any]:
    """A standard queue with its channels."""
    chans = channels or QUEUE_CHANNELS.get(name, CHANNELS)
    return {"ARN": standard_queue_arn(name), "Channels": list(chans), "Name": name}


# ---------------------------------------------------------------------------- timestamps


@functools.cache
def _day_text(day: int) -> str:
    """`YYYY-MM-DD` of a day number since 1970-01-01 (memoised pure function)."""
    return date.fromordinal(_UNIX_ORDINAL + day).isoformat()


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as `2026-11-02T08:00:00.123Z`."""
    day, rem = divmod(ms, _DAY)
    day_text = _day_text(day)
    hours, rem = divmod(rem, _HOUR)
    minutes, rem = divmod(rem, _MINUTE)
    seconds, millis = divmod(rem, _SECOND)
    return f"{day_text}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def to_ms(at: datetime) -> int:
    """A datetime (naive = UTC) as epoch milliseconds."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(milliseconds=1)


def _day_ms(day: date) -> int:
    """Midnight UTC of a date as epoch milliseconds."""
    return (day.toordinal() - _UNIX_ORDINAL) * _DAY


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


# ---------------------------------------------------------------------------- Firehose objects


def _as_bytes(record: bytes | dict) -> bytes:
    """A record as its JSON bytes."""
    return record if isinstance(record, bytes) else orjson.dumps(record)


def write_object(
    path: Path,
    records: list[bytes] | list[dict],
    *,
    delimiter: bytes = b"",
    gzip_object: bool = True,
) -> None:
    """Write one Firehose object: records back to back (each followed by delimiter), maybe gzip."""
    data = b"".join(_as_bytes(r) + delimiter for r in records)
    if gzip_object:
        data = gzip.compress(data, compresslevel=1, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def object_key(first_arrival_ms: int, object_id: str, *, gzip_object: bool = True) -> str:
    """The Firehose key of an object whose oldest record arrived at first_arrival_ms."""
    t = iso_ms(first_arrival_ms)
    folder = f"{t[0:4]}/{t[5:7]}/{t[8:10]}/{t[11:13]}"
    stamp = f"{t[0:10]}-{t[11:13]}-{t[14:16]}-{t[17:19]}"
    suffix = ".gz" if gzip_object else ""
    return f"{folder}/{STREAM_NAME}-1-{stamp}-{object_id}{suffix}"


# ---------------------------------------------------------------------------- roster


@dataclass(frozen=True)
class _Profile:
    """One version of a routing profile."""

    name: str
    arn: str
    maxes: tuple[tuple[str, int], ...]
    outbound: dict[str, Any]
    queues: tuple[dict[str, Any], ...]
    limits: dict[str, int]
    channels: tuple[tuple[str, ...], tuple[float, ...]]


@dataclass(frozen=True)
class _Agent:
    """Static facts about one generated agent."""

    index: int
    agent_id: str
    arn: str
    username: str
    first: str
    last: str
    hierarchy: dict[str, Any] | None
    profile: str
    shift_start_ms: int
    legacy: bool = False


def _profile_versions(change_ms: int) -> dict[str, list[tuple[int, _Profile]]]:
    """The routing profiles; Omni Support's CHAT maximum goes from 2 to 3 at change_ms."""

    def make(name: str, maxes: tuple[tuple[str, int], ...], queues: Sequence[str]) -> _Profile:
        """One profile version."""
        arn = f"{INSTANCE_ARN}/routing-profile/{_stable_id('routing-profile', name)}"
        outbound, inbound = _queue("OutboundQueue"), tuple(_queue(q) for q in queues)
        table = _cumulative([(c, _CHANNEL_WEIGHTS[c]) for c, _ in maxes])
        return _Profile(name, arn, maxes, outbound, inbound, dict(maxes), table)

    omni_queues = ("BasicQueue", "ChatQueue", "TaskQueue")
    return {
        "Voice Support": [
            (-1, make("Voice Support", (("VOICE", 1),), ("BasicQueue", "BillingQueue")))
        ],
        "Omni Support": [
            (-1, make("Omni Support", (("VOICE", 1), ("CHAT", 2), ("TASK", 1)), omni_queues)),
            (
                change_ms,
                make("Omni Support", (("VOICE", 1), ("CHAT", 3), ("TASK", 1)), omni_queues),
            ),
        ],
        "Chat Specialists": [
            (-1, make("Chat Specialists", (("CHAT", 3), ("TASK", 1)), ("ChatQueue", "TaskQueue")))
        ],
    }


def _roster(agents: int, rng: random.Random) -> list[_Agent]:
    """The generated agents: names, hierarchy, routing profile, shift start."""
    profiles = ("Omni Support", "Voice Support", "Omni Support", "Chat Specialists", "Omni Support")
    seen: set[str] = set()
    roster = []
    for index in range(agents):
        agent_id = _uuid(rng)
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        username = f"{first}.{last}".lower()
        if username in seen:
            username = f"{username}{index}"
        seen.add(username)
        hierarchy = (
            None if rng.random() < 0.12 else _hierarchy(rng.choice(_SITES), rng.choice(_TEAMS))
        )
        start_min = _SHIFT_STARTS_MIN[index % len(_SHIFT_STARTS_MIN)] + rng.randrange(0, 30)
        roster.append(
            _Agent(
                index,
                agent_id,
                agent_arn(agent_id),
                username,
                first,
                last,
                hierarchy,
                profiles[index % len(profiles)],
                start_min * _MINUTE,
                legacy=index % _LEGACY_EVERY == _LEGACY_EVERY - 2,
            )
        )
    return roster


# ---------------------------------------------------------------------------- agent simulation


def _cumulative(pairs: Sequence[tuple[str, float]]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Names and cumulative weights, for _weighted."""
    return tuple(n for n, _ in pairs), tuple(itertools.accumulate(w for _, w in pairs))


def _weighted(rng: random.Random, table: tuple[tuple[str, ...], tuple[float, ...]]) -> str:
    """One name drawn by weight from a _cumulative table."""
    names, cumulative = table
    return names[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


_Event = tuple[int, int, bytes]  # (event ms, agent index, record bytes)

_STATUS_ARNS = {name: status_arn(name) for name in STATUS_TYPES}
_CHANNEL_WEIGHTS = {"VOICE": 6.0, "CHAT": 3.0, "TASK": 1.0}
_METHODS = {
    "VOICE": (("INBOUND", 70.0), ("OUTBOUND", 12.0), ("TRANSFER", 8.0), ("CALLBACK", 10.0)),
    "CHAT": (("API", 85.0), ("TRANSFER", 15.0)),
    "TASK": (("API", 80.0), ("TRANSFER", 20.0)),
}
_METHOD_TABLES = {channel: _cumulative(pairs) for channel, pairs in _METHODS.items()}
_MISS_RATE = 0.03
_REOFFER_RATE = 0.6
_CCP_V1_LOGOUT_RATE = 0.15
_LEGACY_EVERY = 4  # every 4th agent publishes older records: AgentStatus without Type
_HOLD_RATE = 0.25
_OFF_DAY_RATE = 0.12
_NO_PREVIOUS_LOGIN_RATE = 0.25
_NO_PREVIOUS_LOGOUT_RATE = 0.1
_NO_LOGOUT_RATE = 0.06
_TRAINING_RATE = 0.2
_ARRIVAL_GAP_S = 20


def _lifecycle(
    rng: random.Random, t: int, channel: str, method: str, *, may_miss: bool = True
) -> list[tuple[int, str]]:
    """The states a contact goes through, ending in CLEARED (leaves the list)."""
    steps = [(t, "INCOMING" if method == "CALLBACK" else "CONNECTING")]
    if method == "CALLBACK":
        t += rng.randint(2 * _SECOND, 10 * _SECOND)
        steps.append((t, "CONNECTING"))
    if may_miss and method != "OUTBOUND" and rng.random() < _MISS_RATE:
        t += rng.randint(15 * _SECOND, 25 * _SECOND)
        steps.append((t, "MISSED"))
        steps.append((t + rng.randint(2 * _SECOND, 20 * _SECOND), "CLEARED"))
        return steps
    ring = (3, 15) if channel == "VOICE" else (1, 6)
    t += rng.randint(ring[0] * _SECOND, ring[1] * _SECOND)
    steps.append((t, "CONNECTED"))
    mean_talk = {"VOICE": 180, "CHAT": 360, "TASK": 420}[channel]
    talk = int((30 + rng.expovariate(1 / mean_talk)) * _SECOND)
    end = t + min(talk, 2 * _HOUR)
    if channel == "VOICE" and rng.random() < _HOLD_RATE:
        hold_at = t + int((end - t) * rng.uniform(0.2, 0.5))
        hold_end = min(hold_at + rng.randint(15 * _SECOND, 180 * _SECOND), end - _SECOND)
        if hold_end > hold_at:
            steps += [(hold_at, "CONNECTED_ONHOLD"), (hold_end, "CONNECTED")]
    mean_acw = 60 if channel == "VOICE" else 30
    acw = int((5 + rng.expovariate(1 / mean_acw)) * _SECOND)
    steps += [(end, "ENDED"), (end + acw, "CLEARED")]
    return steps


@dataclass
class _AgentSim:
    """The mutable state of one agent while its timeline is generated."""

    agent: _Agent
    rng: random.Random
    versions: list[tuple[int, _Profile]]
    change_ms: int
    profile: _Profile | None = None
    status: dict[str, Any] | None = None
    next_status: dict[str, Any] | None = None
    pending: tuple[str, int] | None = None
    contacts: list[dict[str, Any]] = field(default_factory=list)
    last_ms: int = -1
    last_snapshot: bytes | None = None
    heartbeating: bool = False
    ending: bool = False
    agenda: list[tuple[int, int, str, Any]] = field(default_factory=list)
    seq: int = 0
    queues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    logged_out_keeping_status_ms: int | None = None
    ccp_v1_logout: bool | None = None

    # -- emission

    def _profile_at(self, ms: int) -> _Profile:
        """The routing-profile version in force at ms."""
        current = self.versions[0][1]
        for since, version in self.versions:
            if since <= ms:
                current = version
        return current

    def _snapshot_bytes(self) -> bytes:
        """The current snapshot as JSON bytes."""
        agent, profile = self.agent, self.profile
        assert profile is not None
        queues = self.queues.get(profile.arn)
        if queues is None:
            own = agent_queue(agent.agent_id, [c for c, _ in profile.maxes])
            queues = self.queues[profile.arn] = [own, *profile.queues]
        rp = {
            "ARN": profile.arn,
            "Concurrency": _concurrency(profile.maxes, self.contacts),
            "DefaultOutboundQueue": profile.outbound,
            "InboundQueues": queues,
            "Name": profile.name,
        }
        config = _configuration(agent.username, agent.first, agent.last, agent.hierarchy, rp)
        return orjson.dumps(_snapshot(self.status, self.next_status, config, self.contacts))

    def _publish(self, t: int, event_type: str, with_previous: bool = True) -> _Event:
        """Publish one event at t with the current state."""
        current = self._snapshot_bytes()
        previous = None
        if with_previous:
            previous = orjson.Fragment(self.last_snapshot or current)
        record = _record(
            self.agent.arn,
            orjson.Fragment(current),
            _uuid(self.rng),
            iso_ms(t),
            event_type,
            previous,
        )
        self.last_snapshot, self.last_ms = current, t
        return (t, self.agent.index, orjson.dumps(record))

    def _advance(self, t: int) -> tuple[list[_Event], int]:
        """Heartbeats for any 120 s of silence before t, and the time to publish at."""
        out: list[_Event] = []
        while self.heartbeating:
            beat = self.last_ms + HEARTBEAT_MS + self.rng.randrange(0, 1000)
            if beat >= t:
                break
            out.append(self._publish(beat, "HEART_BEAT"))
        return out, max(t, self.last_ms + 1)

    def _change_status(self, t: int, name: str) -> list[_Event]:
        """STATE_CHANGE to a new status (clears NextAgentStatus)."""
        out, t = self._advance(t)
        self.status = self._status(name, t)
        self.next_status = None
        out.append(self._publish(t, "STATE_CHANGE"))
        return out

    def _status(self, name: str, since: int) -> dict[str, Any]:
        """An AgentStatus of this agent (without Type for a legacy agent)."""
        return _status(name, iso_ms(since), _STATUS_ARNS[name], with_type=not self.agent.legacy)

    # -- agenda

    def _push(self, t: int, kind: str, data: Any = None) -> None:
        """Schedule an action for this agent."""
        self.seq += 1
        heapq.heappush(self.agenda, (t, self.seq, kind, data))

    def run(self, first_day_ms: int, days: int) -> Iterator[_Event]:
        """All events of this agent, in time order."""
        rng = self.rng
        for day in range(days):
            if rng.random() < _OFF_DAY_RATE:
                continue
            login = first_day_ms + day * _DAY + self.agent.shift_start_ms
            yield from self._shift(login + rng.randint(-10 * _MINUTE, 10 * _MINUTE))

    def _shift(self, login: int) -> Iterator[_Event]:
        """One shift: LOGIN, work, breaks, Offline, LOGOUT, trailing heartbeats."""
        rng = self.rng
        yield from self._login(login)
        available = login + rng.randint(3 * _SECOND, 25 * _SECOND)
        yield from self._change_status(available, "Available")
        self.ending, self.agenda, self.pending = False, [], None
        self.ccp_v1_logout = None
        self._plan(available)
        self._push(available + rng.randint(5 * _SECOND, 90 * _SECOND), "arrive")
        config_at = self.change_ms + rng.randint(0, 5 * _SECOND)
        if login < config_at and self.profile is not self._profile_at(config_at):
            self._push(config_at, "config")
        while self.agenda:
            t, _, kind, data = heapq.heappop(self.agenda)
            if kind == "logout":
                yield from self._logout(t, keeping_status=data == "ccp_v1")
                return
            yield from self._handle(t, kind, data)

    def _plan(self, available: int) -> None:
        """Schedule breaks, lunch, maybe training, and the end of the shift."""
        rng = self.rng
        second = "Training" if rng.random() < _TRAINING_RATE else "Break"
        self._push(available + 2 * _HOUR + rng.randint(-15, 15) * _MINUTE, "status", ("Break", 15))
        lunch = rng.choice((30, 45, 60))
        self._push(
            available + 4 * _HOUR + rng.randint(-20, 20) * _MINUTE, "status", ("Lunch", lunch)
        )
        second_len = rng.choice((30, 45)) if second == "Training" else 15
        self._push(
            available + 6 * _HOUR + rng.randint(-15, 15) * _MINUTE, "status", (second, second_len)
        )
        self._push(available + 8 * _HOUR + rng.randint(-10, 20) * _MINUTE, "end")

    def _handle(self, t: int, kind: str, data: Any) -> list[_Event]:
        """Run one scheduled action."""
        if kind == "arrive":
            return self._arrive(t)
        if kind == "step":
            return self._step(t, *data)
        if kind == "status":
            return self._request(t, *data)
        if kind == "end":
            return self._end(t)
        if kind == "apply":
            return self._apply_next(t)
        if kind == "resume":
            return self._change_status(t, "Available")
        if kind == "config":
            return self._config(t)
        if kind == "reoffer":
            return self._reoffer(t, data)
        raise ValueError(kind)

    # -- session

    def _login(self, t: int) -> list[_Event]:
        """LOGIN (status Offline since the previous shift; Previous sometimes omitted)."""
        rng = self.rng
        if self.status is None:
            self.status = self._status("Offline", t - rng.randint(10 * _HOUR, 16 * _HOUR))
        elif self.logged_out_keeping_status_ms is not None:
            # logged out with CCPv1 in another status: Connect set Offline at the LOGOUT
            self.status = self._status("Offline", self.logged_out_keeping_status_ms)
        self.logged_out_keeping_status_ms = None
        self.heartbeating = False
        t = max(t, self.last_ms + 1)
        self.profile = self._profile_at(t)
        self.next_status, self.contacts = None, []
        event = self._publish(t, "LOGIN", rng.random() >= _NO_PREVIOUS_LOGIN_RATE)
        self.heartbeating = True
        return [event]

    def _logout(self, t: int, keeping_status: bool = False) -> list[_Event]:
        """LOGOUT (or a closed browser), then heartbeats for 10-60 minutes.

        keeping_status: a CCPv1 LOGOUT whose snapshot still shows the last status.
        """
        rng = self.rng
        out: list[_Event] = []
        if keeping_status or rng.random() >= _NO_LOGOUT_RATE:
            out, t = self._advance(t)
            out.append(self._publish(t, "LOGOUT", rng.random() >= _NO_PREVIOUS_LOGOUT_RATE))
            if keeping_status:
                self.logged_out_keeping_status_ms = t
        tail_end = t + rng.randint(10 * _MINUTE, 60 * _MINUTE)
        beats, _ = self._advance(tail_end)
        self.heartbeating = False
        return out + beats

    def _config(self, t: int) -> list[_Event]:
        """A configuration-only STATE_CHANGE (routing profile changed)."""
        out, t = self._advance(t)
        self.profile = self._profile_at(t)
        out.append(self._publish(t, "STATE_CHANGE"))
        return out

    # -- statuses

    def _routable(self) -> bool:
        """Whether contacts can be routed to the agent now."""
        assert self.status is not None
        return self.status["Name"] == "Available" and self.pending is None and not self.ending

    def _request(self, t: int, name: str, minutes: int) -> list[_Event]:
        """The agent asks for a status: now if free, else via NextAgentStatus."""
        if self.ending:
            return []
        if not self._routable():
            self._push(t + _MINUTE, "status", (name, minutes))
            return []
        self.pending = (name, minutes)
        if not self.contacts:
            return self._apply_next(t)
        out, t = self._advance(t)
        self.next_status = _next_status(name, iso_ms(t), _STATUS_ARNS[name])
        out.append(self._publish(t, "STATE_CHANGE"))
        return out

    def _end(self, t: int) -> list[_Event]:
        """End of shift: go Offline as soon as possible (or, with CCPv1, log out Available)."""
        if not self._routable():
            self._push(t + _MINUTE, "end")
            return []
        if self.ccp_v1_logout is None:
            self.ccp_v1_logout = self.rng.random() < _CCP_V1_LOGOUT_RATE
        if self.ccp_v1_logout:
            if self.contacts:
                self._push(t + _MINUTE, "end")
                return []
            self.ending = True
            self._push(t + self.rng.randint(2 * _SECOND, 30 * _SECOND), "logout", "ccp_v1")
            return []
        out = self._request(t, "Offline", 0)
        self.ending = True
        return out

    def _apply_next(self, t: int) -> list[_Event]:
        """Switch to the pending status, and schedule its end."""
        assert self.pending is not None
        name, minutes = self.pending
        self.pending = None
        out = self._change_status(t, name)
        t = self.last_ms
        if name == "Offline":
            self._push(t + self.rng.randint(2 * _SECOND, 30 * _SECOND), "logout")
        else:
            jitter = self.rng.randint(-30 * _SECOND, 90 * _SECOND)
            self._push(t + minutes * _MINUTE + jitter, "resume")
        return out

    # -- contacts

    def _arrive(self, t: int) -> list[_Event]:
        """A contact offered to (or started by) the agent, if routable with a free slot."""
        rng = self.rng
        if not self.ending:
            self._push(t + int((5 + rng.expovariate(1 / _ARRIVAL_GAP_S)) * _SECOND), "arrive")
        if not self._routable():
            return []
        assert self.profile is not None
        channel = _weighted(rng, self.profile.channels)
        if not self._has_slot(channel):
            return []
        method = _weighted(rng, _METHOD_TABLES[channel])
        out, t = self._advance(t)
        steps = _lifecycle(rng, t, channel, method)
        item = self._new_contact(t, channel, method, steps[0][1])
        self.contacts.append(item)
        out.append(self._publish(t, "STATE_CHANGE"))
        for when, state in steps[1:]:
            self._push(when, "step", (item, state))
        return out

    def _has_slot(self, channel: str) -> bool:
        """Whether a contact of channel can be routed now (one channel at a time)."""
        assert self.profile is not None
        busy = self.contacts[0]["Channel"] if self.contacts else None
        if busy is None:
            return channel in self.profile.limits
        return channel == busy and len(self.contacts) < self.profile.limits[busy]

    def _reoffer(self, t: int, missed: dict[str, Any]) -> list[_Event]:
        """A contact this agent missed is routed to them again (when free), and answered."""
        if not self._routable() or not self._has_slot(missed["Channel"]):
            return []
        out, t = self._advance(t)
        steps = _lifecycle(
            self.rng, t, missed["Channel"], missed["InitiationMethod"], may_miss=False
        )
        item = {
            **missed,
            "ConnectedToAgentTimestamp": None,
            "State": steps[0][1],
            "StateStartTimestamp": iso_ms(t),
        }
        self.contacts.append(item)
        out.append(self._publish(t, "STATE_CHANGE"))
        for when, state in steps[1:]:
            self._push(when, "step", (item, state))
        return out

    def _new_contact(self, t: int, channel: str, method: str, state: str) -> dict[str, Any]:
        """A fresh contact entry in its first state."""
        rng = self.rng
        assert self.profile is not None
        queued: str | None = iso_ms(t - rng.randint(5 * _SECOND, 300 * _SECOND))
        if method == "OUTBOUND":
            queue, queued = self.profile.outbound, None
        elif method == "TRANSFER" and rng.random() < 0.5:
            queue = agent_queue(self.agent.agent_id)
        else:
            queue = rng.choice([q for q in self.profile.queues if channel in q["Channels"]])
        return {
            "Channel": channel,
            "ConnectedToAgentTimestamp": None,
            "ContactId": _uuid(rng),
            "InitialContactId": _uuid(rng) if method == "TRANSFER" else None,
            "InitiationMethod": method,
            "Queue": {"ARN": queue["ARN"], "Name": queue["Name"]},
            "QueueTimestamp": queued,
            "State": state,
            "StateStartTimestamp": iso_ms(t),
        }

    def _step(self, t: int, item: dict[str, Any], state: str) -> list[_Event]:
        """A contact changes state (or is cleared from the list)."""
        out, t = self._advance(t)
        if state == "CLEARED":
            self.contacts.remove(item)
        else:
            previous = item["State"]
            item["State"] = state
            # StateStartTimestamp is not changed by a hold: it stays the CONNECTED time
            if state != "CONNECTED_ONHOLD" and previous != "CONNECTED_ONHOLD":
                item["StateStartTimestamp"] = iso_ms(t)
            if state == "CONNECTED" and item["ConnectedToAgentTimestamp"] is None:
                item["ConnectedToAgentTimestamp"] = item["StateStartTimestamp"]
        out.append(self._publish(t, "STATE_CHANGE"))
        if state == "CLEARED" and not self.contacts and self.pending is not None:
            self._push(t + self.rng.randint(200, 1500), "apply")
        if state == "CLEARED" and item["State"] == "MISSED" and self.rng.random() < _REOFFER_RATE:
            self._push(t + self.rng.randint(5 * _SECOND, 40 * _SECOND), "reoffer", item)
        return out


# ---------------------------------------------------------------------------- Firehose delivery


@dataclass
class _Delivery:
    """Firehose buffering: arrival delays, duplicate deliveries, 5-minute / 5 MB objects."""

    dest: Path
    rng: random.Random
    delimiter: bytes
    gzip_objects: bool
    pending: list[tuple[int, int, bytes]] = field(default_factory=list)
    buffer: list[bytes] = field(default_factory=list)
    buffer_start: int = 0
    buffer_bytes: int = 0
    seq: int = 0
    objects: int = 0
    events: int = 0
    duplicates: int = 0
    writer: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(_WRITERS))
    writing: deque[Future[None]] = field(default_factory=deque)

    def accept(self, event_ms: int, record: bytes) -> None:
        """Take one published event; deliver everything that has surely arrived by event_ms."""
        rng = self.rng
        arrival = event_ms + rng.randint(0, MAX_ARRIVAL_DELAY_MS)
        self._queue(arrival, record)
        self.events += 1
        if rng.random() < DUPLICATE_RATE:
            self.duplicates += 1
            self._queue(arrival + rng.randint(BUFFER_MS + _SECOND, 90 * _MINUTE), record)
        while self.pending and self.pending[0][0] <= event_ms:
            self._buffer(*heapq.heappop(self.pending)[::2])

    def _queue(self, arrival: int, record: bytes) -> None:
        """Hold a record until its arrival time is reached."""
        self.seq += 1
        heapq.heappush(self.pending, (arrival, self.seq, record))

    def _buffer(self, arrival: int, record: bytes) -> None:
        """Add an arrived record to the open buffer, flushing it first when full or old."""
        if self.buffer and (
            arrival >= self.buffer_start + BUFFER_MS or self.buffer_bytes >= BUFFER_BYTES
        ):
            self.flush()
        if not self.buffer:
            self.buffer_start = arrival
        self.buffer.append(record)
        self.buffer_bytes += len(record)

    def flush(self) -> None:
        """Write the open buffer as one object."""
        if not self.buffer:
            return
        key = object_key(self.buffer_start, _uuid(self.rng), gzip_object=self.gzip_objects)
        while len(self.writing) >= 2 * _WRITERS:
            self.writing.popleft().result()
        self.writing.append(
            self.writer.submit(
                write_object,
                self.dest / key,
                self.buffer,
                delimiter=self.delimiter,
                gzip_object=self.gzip_objects,
            )
        )
        self.objects += 1
        self.buffer, self.buffer_bytes = [], 0

    def close(self) -> None:
        """Deliver everything still pending and wait for the writes."""
        try:
            while self.pending:
                self._buffer(*heapq.heappop(self.pending)[::2])
            self.flush()
            while self.writing:
                self.writing.popleft().result()
        finally:
            self.writer.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------- public entry points


def _change_ms(start: date, days: int) -> int:
    """When the routing-profile change happens: noon UTC of day 2 (day 1 for one-day archives)."""
    return _day_ms(start) + min(1, days - 1) * _DAY + 12 * _HOUR


def agent_timelines(
    *, agents: int, days: int, start: date, seed: int
) -> Iterator[tuple[int, int, bytes]]:
    """All agents' events merged by event time: (event ms, agent index, record bytes)."""
    change = _change_ms(start, days)
    versions = _profile_versions(change)
    roster = _roster(agents, random.Random(f"{seed}:roster"))
    sims = [
        _AgentSim(a, random.Random(f"{seed}:agent:{a.index}"), versions[a.profile], change)
        for a in roster
    ]
    first = _day_ms(start)
    return heapq.merge(*(sim.run(first, days) for sim in sims))


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
