"""The sample generator reproduces what the real agent event stream does (issue 12)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date
from typing import Any

import orjson
import pytest

from ingest.sample import agent_timelines

Events = dict[int, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def events() -> Events:
    """Every agent's distinct events, in order, for 10 agents over 2 days."""
    out: Events = defaultdict(list)
    for _, agent, record in agent_timelines(agents=10, days=2, start=date(2026, 11, 2), seed=7):
        out[agent].append(orjson.loads(record))
    return out


def contacts(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The current snapshot's contacts by ContactId."""
    return {c["ContactId"]: c for c in event["CurrentAgentSnapshot"]["Contacts"]}


def test_hold_keeps_the_state_start_timestamp(events: Events) -> None:
    """CONNECTED_ONHOLD (and back) leaves StateStartTimestamp at the CONNECTED time."""
    holds = 0
    for timeline in events.values():
        for prior, event in itertools.pairwise(timeline):
            for cid, item in contacts(event).items():
                before = contacts(prior).get(cid)
                if before and {before["State"], item["State"]} == {"CONNECTED", "CONNECTED_ONHOLD"}:
                    holds += 1
                    assert item["StateStartTimestamp"] == before["StateStartTimestamp"]
                    assert item["StateStartTimestamp"] == item["ConnectedToAgentTimestamp"]
    assert holds > 20


def test_a_missed_contact_is_offered_again_to_the_same_agent(events: Events) -> None:
    """After MISSED and leaving the list, the same ContactId rings again and is answered."""
    reoffers = 0
    for timeline in events.values():
        missed: set[str] = set()
        for event in timeline:
            for cid, item in contacts(event).items():
                if item["State"] == "MISSED":
                    missed.add(cid)
                elif cid in missed and item["State"] == "CONNECTING":
                    reoffers += 1
                    missed.discard(cid)
    assert reoffers > 0


def test_some_ccp_v1_logouts_keep_available(events: Events) -> None:
    """A LOGOUT can show Available; the next LOGIN shows Offline since that LOGOUT."""
    kept = 0
    for timeline in events.values():
        logout = None
        for event in timeline:
            status = event["CurrentAgentSnapshot"]["AgentStatus"]
            if event["EventType"] == "LOGOUT" and status["Name"] == "Available":
                kept += 1
                logout = event
            elif event["EventType"] == "LOGIN" and logout is not None:
                assert status["Name"] == "Offline"
                assert status["StartTimestamp"] == logout["EventTimestamp"]
                logout = None
    assert kept > 0


def test_some_agents_publish_statuses_without_type(events: Events) -> None:
    """Older records lack AgentStatus.Type: every record of such an agent."""
    untyped = {
        agent
        for agent, timeline in events.items()
        if all("Type" not in e["CurrentAgentSnapshot"]["AgentStatus"] for e in timeline)
    }
    typed = {
        agent
        for agent, timeline in events.items()
        if all("Type" in e["CurrentAgentSnapshot"]["AgentStatus"] for e in timeline)
    }
    assert untyped and typed and untyped | typed == set(events)


def test_chats_are_handled_concurrently(events: Events) -> None:
    """Some snapshots list two or more chats at once."""
    concurrent = sum(
        sum(c["Channel"] == "CHAT" for c in e["CurrentAgentSnapshot"]["Contacts"]) >= 2
        for timeline in events.values()
        for e in timeline
    )
    assert concurrent > 50


def test_next_status_is_requested_during_after_contact_work(events: Events) -> None:
    """NextAgentStatus is set while a contact is in ENDED (after-contact work)."""
    during_acw = sum(
        e["CurrentAgentSnapshot"]["NextAgentStatus"] is not None
        and any(c["State"] == "ENDED" for c in e["CurrentAgentSnapshot"]["Contacts"])
        for timeline in events.values()
        for e in timeline
    )
    assert during_acw > 0


def test_routing_profile_changes_in_the_middle_of_a_status(events: Events) -> None:
    """A STATE_CHANGE changes the routing profile while the status stays the same."""
    changes = 0
    for timeline in events.values():
        for prior, event in itertools.pairwise(timeline):
            before, now = prior["CurrentAgentSnapshot"], event["CurrentAgentSnapshot"]
            profile = "Configuration", "RoutingProfile", "Concurrency"
            if (
                event["EventType"] == "STATE_CHANGE"
                and now["AgentStatus"] == before["AgentStatus"]
                and [s["MaximumSlots"] for s in now[profile[0]][profile[1]][profile[2]]]
                != [s["MaximumSlots"] for s in before[profile[0]][profile[1]][profile[2]]]
            ):
                changes += 1
    assert changes > 0
