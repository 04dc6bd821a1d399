"""Agent activity in Amazon Connect's terms, on hand-built days: one agent per trap of issue 12.

Each agent's day is written event by event as Connect publishes it, delivered in two
nights and built twice (night by night, and in one full refresh). Every expected second is
written next to the arithmetic that gives it, from Connect's definitions (see the model docs).
The README's metrics SQL is run as written on the result.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_same_marts, dbt_build, deliver, ingest_cli, query

from ingest.sample import agent_event, contact, object_key, routing_profile, to_ms, write_object

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[1] / "README.md"
DAY = date(2026, 11, 10)
NEW_MARTS = ("fct_agent_activity", "fct_agent_sessions", "agg_agent_activity_15m")
SALES = routing_profile("Sales", voice=1, chat=0, task=0, queues=("BasicQueue",))
SUPPORT = routing_profile("Support", voice=1, chat=3, task=1)


def at(hh: int, mm: int = 0, ss: int = 0, day: int = 0) -> datetime:
    """A UTC time on the scenario's day (day=1: the next day, -1: the day before)."""
    base = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) + timedelta(days=day)
    return base.replace(hour=hh, minute=mm, second=ss)


class Agent:
    """One agent's CCP as Connect publishes it: each event carries the state after it and,
    as PreviousAgentSnapshot, the state before it."""

    def __init__(
        self,
        name: str,
        status: str = "Offline",
        since: datetime | None = None,
        profile: dict | None = None,
        with_type: bool = True,
    ) -> None:
        self.name = name
        self.status = (status, since or at(18, day=-1))
        self.profile = profile or SUPPORT
        self.with_type = with_type
        self.contacts: dict[str, dict[str, Any]] = {}
        self.details: dict[str, dict[str, Any]] = {}
        self.next_status: str | None = None
        self.last: tuple | None = None
        self.records: list[tuple[datetime, dict]] = []

    def _state(self) -> tuple:
        """The snapshot's parts: status, contacts, profile, next status."""
        return (self.status, list(self.contacts.values()), self.profile, self.next_status)

    def emit(self, event_type: str, when: datetime, with_previous: bool = True) -> None:
        """Publish one event with the current state (and the previous one)."""
        now = self._state()
        before = self.last or now
        record = agent_event(
            event_type,
            when,
            agent=self.name,
            status=now[0][0],
            status_start=now[0][1],
            previous_status=before[0][0],
            previous_status_start=before[0][1],
            contacts=now[1],
            previous_contacts=before[1],
            routing_profile=now[2],
            previous_routing_profile=before[2],
            next_status=now[3],
            previous_next_status=before[3],
            next_status_at=when,
            with_previous=with_previous,
            with_type=self.with_type,
        )
        self.last = now
        self.records.append((when, record))

    def login(self, when: datetime, status: str | None = None, since: datetime | None = None):
        """LOGIN (no PreviousAgentSnapshot), optionally showing a status."""
        if status:
            self.status = (status, since or when)
        self.emit("LOGIN", when, with_previous=False)

    def set_status(self, when: datetime, name: str) -> None:
        """The agent picks a status in the CCP."""
        self.status, self.next_status = (name, when), None
        self.emit("STATE_CHANGE", when)

    def request(self, when: datetime, name: str) -> None:
        """A status picked while on contacts: NextAgentStatus, applied when they are done."""
        self.next_status = name
        self.emit("STATE_CHANGE", when)

    def offer(self, when: datetime, cid: str, **details: Any) -> None:
        """A contact is routed to the agent (ringing), or an outbound call starts dialling."""
        self.details[cid] = details
        self._contact(when, cid, "CONNECTING", when)

    def connect(self, when: datetime, cid: str) -> None:
        """The contact is connected to the agent."""
        self.details[cid]["connected_at"] = when
        self._contact(when, cid, "CONNECTED", when)

    def hold(self, when: datetime, cid: str, on: bool = True) -> None:
        """On hold / off hold: StateStartTimestamp keeps the CONNECTED time (API reference)."""
        state = "CONNECTED_ONHOLD" if on else "CONNECTED"
        self._contact(when, cid, state, self.details[cid]["connected_at"])

    def end(self, when: datetime, cid: str) -> None:
        """The conversation ends: after-contact work begins."""
        self._contact(when, cid, "ENDED", when)

    def miss(self, when: datetime, cid: str) -> None:
        """The agent does not answer."""
        self._contact(when, cid, "MISSED", when)

    def clear(self, when: datetime, cid: str, then: str | None = None) -> None:
        """The contact leaves the agent's list (maybe applying the next status)."""
        del self.contacts[cid]
        if then:
            self.status, self.next_status = (then, when), None
        self.emit("STATE_CHANGE", when)

    def change_profile(self, when: datetime, profile: dict) -> None:
        """A configuration-only STATE_CHANGE: the routing profile changes."""
        self.profile = profile
        self.emit("STATE_CHANGE", when)

    def heartbeat(self, when: datetime) -> None:
        """HEART_BEAT repeating the last snapshot."""
        self.emit("HEART_BEAT", when)

    def logout(self, when: datetime) -> None:
        """LOGOUT; the snapshot shows whatever status the CCP had."""
        self.emit("LOGOUT", when)

    def _contact(self, when: datetime, cid: str, state: str, start: datetime) -> None:
        """Put the contact in a state and publish."""
        d = self.details[cid]
        self.contacts[cid] = contact(
            cid,
            state,
            start,
            channel=d.get("channel", "VOICE"),
            initiation_method=d.get("method", "INBOUND"),
            queue=d.get("queue", "BasicQueue"),
            connected_at=d.get("connected_at") if state != "MISSED" else None,
            queued_at=None if d.get("method") == "OUTBOUND" else when - timedelta(seconds=30),
        )
        self.emit("STATE_CHANGE", when)


# ------------------------------------------------------------------------ the hand-built day


def busy_agent() -> Agent:
    """Available is not idle: a call, two concurrent chats, a break."""
    a = Agent("busy")
    a.login(at(9))  # still Offline since yesterday 18:00
    a.set_status(at(9, 1), "Available")
    a.offer(at(9, 5), "call-1")
    a.connect(at(9, 5, 10), "call-1")
    a.end(at(9, 10), "call-1")
    a.clear(at(9, 11), "call-1")
    chat = {"channel": "CHAT", "method": "API", "queue": "ChatQueue"}
    a.offer(at(9, 20), "chat-a", **chat)
    a.connect(at(9, 20, 5), "chat-a")
    a.offer(at(9, 25), "chat-b", **chat)
    a.connect(at(9, 25, 5), "chat-b")
    a.end(at(9, 35), "chat-a")
    a.clear(at(9, 36), "chat-a")
    a.end(at(9, 40), "chat-b")
    a.clear(at(9, 41), "chat-b")
    a.set_status(at(9, 50), "Break")
    a.set_status(at(10, 5), "Available")
    a.set_status(at(10, 20), "Offline")
    a.logout(at(10, 20, 30))
    a.status = ("Available", at(10, 40))  # a stale heartbeat after logout proves nothing
    a.heartbeat(at(10, 40))
    return a


def ccp_v1_agent() -> Agent:
    """Two LOGOUTs that keep Available (CCPv1); the next LOGIN still shows yesterday's start."""
    a = Agent("ccpv1")
    a.login(at(8))
    a.set_status(at(8, 0, 5), "Available")
    a.logout(at(17))  # the snapshot still says Available since 08:00:05
    a.heartbeat(at(17, 2))
    a.heartbeat(at(17, 4))
    a.login(at(8, day=1))  # Available since yesterday 08:00:05, as the CCP kept it
    a.set_status(at(12, day=1), "Offline")
    a.logout(at(12, 0, 10, day=1))
    return a


def hold_agent() -> Agent:
    """A call connected 10:00:10, on hold 10:02 -> 10:03, ended 10:05, cleared 10:06."""
    a = Agent("hold")
    a.login(at(10), "Available")
    a.offer(at(10, 0, 5), "call-h")
    a.connect(at(10, 0, 10), "call-h")
    a.hold(at(10, 2), "call-h")
    a.hold(at(10, 3), "call-h", on=False)
    a.end(at(10, 5), "call-h")
    a.clear(at(10, 6), "call-h")
    a.set_status(at(10, 9), "Offline")
    a.logout(at(10, 10))
    return a


def reoffer_agent() -> Agent:
    """A contact missed at 11:00:20, offered again at 11:00:50 and answered at 11:01:05."""
    a = Agent("reoffer")
    a.login(at(10, 59), "Available")
    a.offer(at(11), "call-r")
    a.miss(at(11, 0, 20), "call-r")
    a.clear(at(11, 0, 30), "call-r")
    a.offer(at(11, 0, 50), "call-r")
    a.connect(at(11, 1, 5), "call-r")
    a.end(at(11, 4), "call-r")
    a.clear(at(11, 4, 30), "call-r")
    a.set_status(at(11, 10), "Offline")
    a.logout(at(11, 10, 5))
    return a


def untyped_agent() -> Agent:
    """Older records: no AgentStatus.Type anywhere."""
    a = Agent("untyped", with_type=False)
    a.login(at(13))
    a.set_status(at(13, 0, 10), "Available")
    a.set_status(at(13, 30), "Lunch")
    a.set_status(at(14), "Available")
    a.set_status(at(14, 30), "Offline")
    a.logout(at(14, 30, 5))
    return a


def profile_agent() -> Agent:
    """The routing profile changes at 15:20 in the middle of an Available status."""
    a = Agent("profile", profile=SALES)
    a.login(at(15), "Available")
    a.change_profile(at(15, 20), SUPPORT)
    a.set_status(at(15, 40), "Offline")
    a.logout(at(15, 40, 5))
    return a


def custom_agent() -> Agent:
    """An outbound call made in a Break; Available during it; Lunch requested during ACW."""
    a = Agent("custom")
    a.login(at(16), "Available")
    a.set_status(at(16, 5), "Break")
    a.offer(at(16, 10), "call-o", method="OUTBOUND", queue="OutboundQueue")
    a.connect(at(16, 10, 10), "call-o")
    a.set_status(at(16, 12), "Available")
    a.end(at(16, 13), "call-o")
    a.request(at(16, 13, 30), "Lunch")
    a.clear(at(16, 14), "call-o", then="Lunch")
    a.set_status(at(16, 20), "Available")
    a.set_status(at(16, 30), "Offline")
    a.logout(at(16, 30, 5))
    return a


def browser_agent() -> Agent:
    """The browser closed at 18:02 without LOGOUT; the agent logs in again at 20:00."""
    a = Agent("browser")
    a.login(at(18), "Available")
    a.heartbeat(at(18, 2))
    a.login(at(20))  # still Available since 18:00: Connect kept counting it
    a.set_status(at(20, 29), "Offline")
    a.logout(at(20, 30))
    return a


AGENTS = (
    busy_agent,
    ccp_v1_agent,
    hold_agent,
    reoffer_agent,
    untyped_agent,
    profile_agent,
    custom_agent,
    browser_agent,
)


def write_archive(archive: Path) -> dict[int, list[Path]]:
    """One object per agent and night: night 1 until 12:00, night 2 the rest; night -> paths."""
    cuts = [(1, at(12)), (2, at(0, day=9))]
    nights: dict[int, list[Path]] = {}
    for number, build in enumerate(AGENTS):
        records = build().records
        for night, cut in cuts:
            batch = [r for when, r in records if when < cut]
            records = [(when, r) for when, r in records if when >= cut]
            if batch:
                arrival = to_ms(cut) + number * 1000
                path = archive / object_key(arrival, f"{build.__name__}-night{night}")
                write_object(path, batch)
                nights.setdefault(night, []).append(path)
    return nights


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The day built all at once (full refresh) and night by night (incremental)."""
    work = tmp_path_factory.mktemp("activity")
    archive = work / "archive"
    nights = write_archive(archive)
    full = work / "full.duckdb"
    ingest_cli(archive, full)
    dbt_build(full, work, "--full-refresh")
    nightly = work / "nightly.duckdb"
    delivered = work / "delivered"
    for night in sorted(nights):
        deliver(nights[night], archive, delivered)
        ingest_cli(delivered, nightly)
        # models only: the data tests ran on the full refresh, and the marts must be equal
        dbt_build(nightly, work, "--resource-type", "model")
    yield {"full": full, "nightly": nightly}
    shutil.rmtree(work, ignore_errors=True)


def segments(warehouse: Path, agent: str) -> list[tuple]:
    """(start, end, seconds, activity, status type) of an agent's activity segments."""
    return query(
        warehouse,
        """
        select started_at, ended_at, duration_seconds, activity, status_type
        from marts.fct_agent_activity where agent_arn like '%/agent/' || ?
        order by started_at
        """,
        [agent],
    )


def intervals(warehouse: Path, agent: str) -> list[dict[str, Any]]:
    """The agent's 15-minute rows as dicts, by interval_start."""
    rows = query(
        warehouse,
        """
        select interval_start, online_seconds, idle_seconds, on_contact_seconds,
            incoming_seconds, after_contact_work_seconds, error_seconds, npt_seconds,
            contacts_handled, contacts_missed, handle_seconds, hold_seconds, occupancy
        from marts.agg_agent_activity_15m where agent_arn like '%/agent/' || ?
        order by interval_start
        """,
        [agent],
    )
    names = ["online", "idle", "on_contact", "incoming", "acw", "error", "npt"]
    names += ["handled", "missed", "handle", "hold", "occupancy"]
    return [{"start": r[0], **dict(zip(names, r[1:], strict=True))} for r in rows]


def contacts_of(warehouse: Path, agent: str) -> list[tuple]:
    """The agent's contact rows, by contact and offer."""
    return query(
        warehouse,
        """
        select contact_id, offer_number, final_state, is_handled, is_non_response, offered_at,
            connected_at, ended_at, cleared_at, ring_seconds, talk_seconds, hold_seconds,
            interaction_seconds, after_contact_work_seconds, contact_handle_seconds,
            handle_seconds
        from marts.fct_agent_contacts where agent_arn like '%/agent/' || ?
        order by contact_id, offer_number
        """,
        [agent],
    )


# ------------------------------------------------------------------------ Available is not idle


def test_available_time_splits_into_idle_incoming_and_on_contact(built: dict[str, Path]) -> None:
    assert segments(built["full"], "busy") == [
        (at(9), at(9, 1), 60.0, "Offline", "OFFLINE"),  # logged in, still Offline
        (at(9, 1), at(9, 5), 240.0, "Available", "ROUTABLE"),  # 09:01 -> 09:05, nothing
        (at(9, 5), at(9, 5, 10), 10.0, "Incoming", "ROUTABLE"),  # ringing 09:05:00 -> :10
        (at(9, 5, 10), at(9, 10), 290.0, "On contact", "ROUTABLE"),  # 09:05:10 -> 09:10
        (at(9, 10), at(9, 11), 60.0, "After contact work", "ROUTABLE"),  # ENDED -> cleared
        (at(9, 11), at(9, 20), 540.0, "Available", "ROUTABLE"),
        (at(9, 20), at(9, 20, 5), 5.0, "Incoming", "ROUTABLE"),  # chat a ringing
        (at(9, 20, 5), at(9, 25), 295.0, "On contact", "ROUTABLE"),  # one chat slot busy
        (at(9, 25), at(9, 36), 660.0, "On contact", "ROUTABLE"),  # two chats (b rings, is
        # connected, a goes to ACW: still On contact, which outranks Incoming and ACW)
        (at(9, 36), at(9, 40), 240.0, "On contact", "ROUTABLE"),  # one chat again
        (at(9, 40), at(9, 41), 60.0, "After contact work", "ROUTABLE"),
        (at(9, 41), at(9, 50), 540.0, "Available", "ROUTABLE"),
        (at(9, 50), at(10, 5), 900.0, "Break", "CUSTOM"),
        (at(10, 5), at(10, 20), 900.0, "Available", "ROUTABLE"),
        (at(10, 20), at(10, 20, 30), 30.0, "Offline", "OFFLINE"),  # until the LOGOUT
    ]


def test_fifteen_minute_figures_of_the_busy_agent(built: dict[str, Path]) -> None:
    rows = intervals(built["full"], "busy")
    assert [r["start"] for r in rows] == [at(9, m) for m in (0, 15, 30, 45)] + [
        at(10, 0),
        at(10, 15),
    ]
    first = rows[0]
    assert first["online"] == 840.0  # Available 09:01 -> 09:15
    assert first["idle"] == 480.0  # 09:01 -> 09:05 (240) + 09:11 -> 09:15 (240)
    assert first["incoming"] == 10.0  # 09:05:00 -> 09:05:10
    assert first["on_contact"] == 350.0  # 09:05:10 -> 09:10 (290) + ACW 09:10 -> 09:11 (60)
    assert first["acw"] == 60.0
    assert (first["handled"], first["handle"]) == (1, 350.0)  # call ended 09:10: 09:05:10 -> 09:11
    assert first["occupancy"] == pytest.approx(350 / (350 + 480))
    second = rows[1]
    assert (second["idle"], second["incoming"], second["on_contact"]) == (300.0, 5.0, 595.0)
    # 09:15 -> 09:20 idle; chat a rings 09:20:00 -> :05; on a chat 09:20:05 -> 09:30
    third = rows[2]
    assert third["on_contact"] == 660.0  # 09:30 -> 09:41, wall clock: two chats count once
    assert third["idle"] == 240.0  # 09:41 -> 09:45
    assert third["handled"] == 2  # chats a (ended 09:35) and b (ended 09:40)
    assert third["handle"] == 955.0 + 955.0  # a: 09:20:05 -> 09:36; b: 09:25:05 -> 09:41
    assert third["occupancy"] == pytest.approx(660 / 900)
    fourth = rows[3]
    assert (fourth["idle"], fourth["npt"], fourth["online"]) == (300.0, 600.0, 900.0)
    assert fourth["occupancy"] == 0.0  # 09:45 -> 09:50 idle, then Break (neither)
    fifth = rows[4]
    assert (fifth["npt"], fifth["idle"], fifth["occupancy"]) == (300.0, 600.0, 0.0)
    last = rows[5]
    assert (last["online"], last["idle"]) == (300.0, 300.0)  # 10:15 -> 10:20, then Offline


def test_daily_figures_of_the_busy_agent(built: dict[str, Path]) -> None:
    rows = query(
        built["full"],
        """
        select sum(online_seconds), sum(idle_seconds), sum(on_contact_seconds),
            sum(incoming_seconds), sum(npt_seconds), sum(contacts_handled), sum(handle_seconds)
        from marts.agg_agent_activity_15m where agent_arn like '%/agent/busy'
        """,
    )
    online = (10 * 60 + 20) - (9 * 60 + 1)  # 09:01 -> 10:20 = 79 min
    assert rows == [
        (
            online * 60.0,  # 4,740 s
            240.0 + 540 + 540 + 900,  # idle stretches: 2,220 s
            290.0 + 60 + 295 + 660 + 240 + 60,  # on contact, ACW included: 1,605 s
            15.0,  # ringing: 10 + 5
            900.0,  # Break 09:50 -> 10:05
            3,
            350.0 + 955 + 955,  # handle time counts each chat: 2,260 s
        )
    ]


# ------------------------------------------------------------------------ statuses end at LOGOUT


def test_ccp_v1_logout_ends_the_status_and_the_session(built: dict[str, Path]) -> None:
    statuses = query(
        built["full"],
        """
        select status_name, status_type, started_at, ended_at, duration_seconds
        from marts.fct_agent_status where agent_arn like '%/agent/ccpv1' order by started_at
        """,
    )
    assert statuses == [
        ("Offline", "OFFLINE", at(18, day=-1), at(8, 0, 5), 14 * 3600.0 + 5),
        ("Available", "ROUTABLE", at(8, 0, 5), at(17), 32395.0),  # 08:00:05 -> 17:00 LOGOUT
        ("Offline", "OFFLINE", at(17), at(8, day=1), 15 * 3600.0),  # logged out 17:00 -> 08:00
        ("Available", "ROUTABLE", at(8, day=1), at(12, day=1), 4 * 3600.0),  # from the LOGIN
        ("Offline", "OFFLINE", at(12, day=1), None, None),
    ]
    sessions = query(
        built["full"],
        """
        select login_at, logout_at, is_logout_inferred, online_seconds
        from marts.fct_agent_sessions where agent_arn like '%/agent/ccpv1' order by login_at
        """,
    )
    assert sessions == [
        (at(8), at(17), False, 32395.0),  # not 16 h of online time on a 9 h shift
        (at(8, day=1), at(12, 0, 10, day=1), False, 4 * 3600.0),
    ]
    daily = query(
        built["full"],
        """
        select activity_date, sum(seconds) filter (where status_type <> 'OFFLINE')
        from marts.agg_agent_status_daily where agent_arn like '%/agent/ccpv1'
        group by 1 order by 1
        """,
    )
    assert daily == [
        (DAY - timedelta(days=1), None),
        (DAY, 32395.0),
        (DAY + timedelta(days=1), 14400.0),
    ]


def test_a_session_without_logout_ends_at_the_next_login(built: dict[str, Path]) -> None:
    sessions = query(
        built["full"],
        """
        select login_at, logout_at, is_logout_inferred, online_seconds
        from marts.fct_agent_sessions where agent_arn like '%/agent/browser' order by login_at
        """,
    )
    assert sessions == [
        (at(18), at(20), True, 7200.0),  # Available 18:00 -> 20:00 (silence is not cut)
        (at(20), at(20, 30), False, 1740.0),  # Available 20:00 -> 20:29
    ]
    activity = segments(built["full"], "browser")
    assert [(s[0], s[1], s[3]) for s in activity] == [
        (at(18), at(20), "Available"),  # never crossing the session boundary
        (at(20), at(20, 29), "Available"),
        (at(20, 29), at(20, 30), "Offline"),
    ]


def test_heartbeats_after_logout_open_nothing(built: dict[str, Path]) -> None:
    late = query(
        built["full"],
        """
        select count(*) from marts.fct_agent_activity
        where agent_arn like '%/agent/busy' and ended_at > ?
        """,
        [at(10, 20, 30)],
    )
    assert late == [(0,)]


# ------------------------------------------------------------------------ contacts


def test_hold_comes_from_the_event_times(built: dict[str, Path]) -> None:
    assert contacts_of(built["full"], "hold") == [
        (
            "call-h",
            1,
            "ENDED",
            True,
            False,
            at(10, 0, 5),
            at(10, 0, 10),
            at(10, 5),
            at(10, 6),
            5.0,  # ring: 10:00:05 -> 10:00:10
            290.0,  # talk: 10:00:10 -> 10:05:00
            60.0,  # on hold 10:02:00 -> 10:03:00 (StateStartTimestamp stayed 10:00:10)
            230.0,  # interaction: 290 - 60
            60.0,  # ACW: 10:05 -> 10:06
            350.0,  # contact handle: 10:00:10 -> 10:06:00
            350.0,  # no custom status: handle time the same
        )
    ]
    rows = intervals(built["full"], "hold")
    assert [(r["start"], r["hold"], r["handle"]) for r in rows if r["handled"]] == [
        (at(10), 60.0, 350.0)  # the interval in which the call ended (10:05)
    ]


def test_a_contact_offered_twice_is_two_offers(built: dict[str, Path]) -> None:
    rows = contacts_of(built["full"], "reoffer")
    assert [r[:5] for r in rows] == [
        ("call-r", 1, "MISSED", False, True),
        ("call-r", 2, "ENDED", True, False),
    ]
    assert rows[0][9] == 20.0  # ringing 11:00:00 -> missed 11:00:20
    assert rows[1][5:11] == (at(11, 0, 50), at(11, 1, 5), at(11, 4), at(11, 4, 30), 15.0, 175.0)
    # ring 11:00:50 -> 11:01:05; talk 11:01:05 -> 11:04:00
    assert rows[1][13:] == (30.0, 205.0, 205.0)  # ACW 11:04 -> 11:04:30; handle 175 + 30
    answer = query(
        built["full"],
        """
        select count(*) filter (where is_handled) / count(*)
        from marts.fct_agent_contacts where agent_arn like '%/agent/reoffer'
        """,
    )
    assert answer == [(0.5,)]  # one answered of two routings, as Connect reports


def test_reoffer_interval_figures(built: dict[str, Path]) -> None:
    rows = {r["start"]: r for r in intervals(built["full"], "reoffer")}
    assert rows[at(10, 45)]["idle"] == 60.0  # 10:59 -> 11:00
    quarter = rows[at(11)]
    assert quarter["online"] == 600.0  # 11:00 -> 11:10
    assert quarter["incoming"] == 20.0 + 15.0  # ringing twice
    assert quarter["error"] == 10.0  # Missed 11:00:20 -> 11:00:30 (listed, not cleared)
    assert quarter["on_contact"] == 175.0 + 30.0  # connected + ACW
    assert quarter["idle"] == 20.0 + 330.0  # 11:00:30 -> 11:00:50, 11:04:30 -> 11:10
    assert (quarter["handled"], quarter["missed"]) == (1, 1)
    assert quarter["occupancy"] == pytest.approx(205 / (205 + 350 + 10))


def test_handle_time_leaves_out_custom_status_and_clears_at_the_removing_event(
    built: dict[str, Path],
) -> None:
    rows = contacts_of(built["full"], "custom")
    assert rows == [
        (
            "call-o",
            1,
            "ENDED",
            True,
            False,
            at(16, 10),
            at(16, 10, 10),
            at(16, 13),
            at(16, 14),  # the event that removed it (and applied Lunch), not the 16:13:30 one
            10.0,
            170.0,  # 16:10:10 -> 16:13:00
            0.0,
            170.0,
            60.0,  # 16:13 -> 16:14
            230.0,  # contact handle time: 16:10:10 -> 16:14:00, Break included
            120.0,  # average-handle-time basis: 230 - Break 16:10:10 -> 16:12:00 (110)
        )
    ]
    activity = segments(built["full"], "custom")
    assert [(s[0], s[1], s[3], s[4]) for s in activity][1:6] == [
        (at(16, 5), at(16, 10), "Break", "CUSTOM"),
        (at(16, 10), at(16, 12), "On contact", "CUSTOM"),  # dialling and talking in Break
        (at(16, 12), at(16, 13), "On contact", "ROUTABLE"),
        (at(16, 13), at(16, 14), "After contact work", "ROUTABLE"),  # Lunch requested 16:13:30
        (at(16, 14), at(16, 20), "Lunch", "CUSTOM"),
    ]
    quarter = intervals(built["full"], "custom")[0]
    assert quarter["npt"] == 300.0 + 120.0 + 60.0  # Break 16:05 -> 16:12, Lunch 16:14 -> 16:15
    assert quarter["on_contact"] == 120.0  # 16:12 -> 16:14 only: not while in Break
    assert quarter["idle"] == 300.0  # 16:00 -> 16:05
    assert quarter["online"] == 900.0


# ------------------------------------------------------------------------ statuses


def test_a_status_without_type_is_typed_by_name(built: dict[str, Path]) -> None:
    rows = query(
        built["full"],
        """
        select status_name, status_type, duration_seconds from marts.fct_agent_status
        where agent_arn like '%/agent/untyped' and started_at >= ? order by started_at
        """,
        [at(13)],
    )
    assert rows == [
        ("Available", "ROUTABLE", 1790.0),  # 13:00:10 -> 13:30
        ("Lunch", "CUSTOM", 1800.0),
        ("Available", "ROUTABLE", 1800.0),
        ("Offline", "OFFLINE", None),
    ]
    totals = query(
        built["full"],
        """
        select sum(online_seconds), sum(npt_seconds) from marts.agg_agent_activity_15m
        where agent_arn like '%/agent/untyped'
        """,
    )
    assert totals == [(1790.0 + 1800 + 1800, 1800.0)]  # 13:00:10 -> 14:30; Lunch


def test_a_routing_profile_change_splits_the_segment(built: dict[str, Path]) -> None:
    rows = query(
        built["full"],
        """
        select a.started_at, a.ended_at, a.activity, a.voice_max_slots, a.chat_max_slots,
            r.routing_profile_name
        from marts.fct_agent_activity a
        join (select distinct routing_profile_arn, routing_profile_name
              from marts.dim_routing_profile) r using (routing_profile_arn)
        where a.agent_arn like '%/agent/profile' order by a.started_at
        """,
    )
    assert rows == [
        (at(15), at(15, 20), "Available", 1, None, "Sales"),
        (at(15, 20), at(15, 40), "Available", 1, 3, "Support"),
        (at(15, 40), at(15, 40, 5), "Offline", 1, 3, "Support"),
    ]


# ------------------------------------------------------------------------ invariants, refresh


def test_daily_online_equals_the_status_aggregate(built: dict[str, Path]) -> None:
    rows = query(
        built["full"],
        """
        select a.agent_arn, a.online, d.online from (
            select agent_arn, interval_date, sum(online_seconds) as online
            from marts.agg_agent_activity_15m group by all) a
        full join (
            select agent_arn, activity_date as interval_date, sum(seconds) as online
            from marts.agg_agent_status_daily where status_type <> 'OFFLINE' group by all) d
            using (agent_arn, interval_date)
        where a.online is distinct from d.online
        """,
    )
    assert rows == []


def test_night_by_night_equals_a_full_refresh(built: dict[str, Path]) -> None:
    assert_same_marts(built["full"], built["nightly"])
    for mart in NEW_MARTS:
        count = f"select count(*) from marts.{mart}"
        assert query(built["full"], count) == query(built["nightly"], count)


# ------------------------------------------------------------------------ the README's SQL


def readme_block(title: str) -> str:
    """The SQL block that follows a README line containing title."""
    text = README.read_text()
    match = re.search(re.escape(title) + r".*?```sql\n(.*?)```", text, flags=re.S)
    assert match, f"no SQL block after {title!r} in README.md"
    return match.group(1)


def test_readme_metrics_per_15_minutes(built: dict[str, Path]) -> None:
    sql = readme_block("Connect's standard agent metrics per 15 minutes")
    rows = query(built["full"], f"select * from ({sql}) where agent like '%/agent/reoffer'")
    by_start = {r[1]: r for r in rows}
    quarter = by_start[at(11)]
    # agent, interval, online, npt, idle, on contact, acw, occupancy, handled, AHT, non-response
    assert quarter[2:] == (
        600.0,  # online 11:00 -> 11:10
        0.0,
        350.0 + 10.0,  # Connect's idle time: idle + the 10 s a contact was Missed
        205.0,
        30.0,
        pytest.approx(205 / (205 + 360)),
        1,
        205.0,
        1,
    )


def test_readme_metrics_per_day(built: dict[str, Path]) -> None:
    sql = readme_block("Connect's standard agent metrics per day")
    rows = query(built["full"], f"select * from ({sql}) where agent like '%/agent/busy'")
    assert rows == [
        (
            rows[0][0],
            DAY,
            4740.0,  # online
            900.0,  # NPT
            2220.0,  # idle (no contact was in error)
            1605.0,  # on contact, wall clock
            120.0,  # ACW: 09:10 -> 09:11 and 09:40 -> 09:41 as an activity
            pytest.approx(1605 / (1605 + 2220)),
            3,
            pytest.approx(2260 / 3),  # average handle time
            0,
        )
    ]
