"""The agent simulation: a roster of agents whose shifts, statuses and contacts make events."""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from ingest.sample.ids import (
    _DAY,
    _HOUR,
    _MINUTE,
    _SECOND,
    HEARTBEAT_MS,
    INSTANCE_ARN,
    STATUS_TYPES,
    _day_ms,
    _queue,
    _stable_id,
    _uuid,
    agent_arn,
    agent_queue,
    iso_ms,
    status_arn,
)
from ingest.sample.records import (
    _concurrency,
    _configuration,
    _hierarchy,
    _next_status,
    _record,
    _snapshot,
    _status,
)

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


# ---------------------------------------------------------------------------- timelines


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
