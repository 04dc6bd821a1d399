"""The HTML report: pages per day from the real marts, what they say is missing, the nightly refresh."""

from __future__ import annotations

import copy
import gzip
import html
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from helpers import cli, query, real_event, segments_of_day, write_object

from ingest.config import InvalidSetting
from ingest.report import Agent, _colours, _duration, _sort_orders, reporting_timezone
from ingest.sample import generate_archive

DAY = date(2026, 11, 5)
LONE = "arn:aws:connect:us-east-1:123456789012:instance/lone/agent/"


def lone_event(name: str, event_type: str, at: str) -> dict:
    """AWS's HEART_BEAT sample as the only event of an agent of its own (`name`) on DAY."""
    record = copy.deepcopy(real_event("sample-1"))
    record.update(
        EventId=f"lone-{name}", EventType=event_type, EventTimestamp=at, AgentARN=LONE + name
    )
    record["CurrentAgentSnapshot"]["AgentStatus"]["StartTimestamp"] = at
    record["CurrentAgentSnapshot"]["Configuration"]["Username"] = name
    return record


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """`run` on one generated day, plus an agent with one event and an object rejected whole."""
    root = tmp_path_factory.mktemp("report")
    archive = root / "archive"
    generate_archive(archive, agents=3, days=1, start=DAY, seed=11)
    login = lone_event("lone.login", "LOGIN", "2026-11-05T15:30:00.000Z")
    heartbeat = lone_event("lone.heartbeat", "HEART_BEAT", "2026-11-05T15:40:00.000Z")
    write_object(archive / "2026/11/05/15/lone-1", [login, heartbeat])
    lost = lone_event("lone.lost", "LOGIN", "2026-11-05T16:10:00.000Z")
    twice = gzip.compress(gzip.compress(orjson.dumps(lost), mtime=0), mtime=0)
    (archive / "2026/11/05/16").mkdir(parents=True, exist_ok=True)
    (archive / "2026/11/05/16/twice-compressed-1").write_bytes(twice)
    warehouse = root / "wh" / "connect.duckdb"
    result = cli("run", "--source", archive, "--warehouse", warehouse)
    return warehouse, warehouse.parent / "report", result.stdout + result.stderr


def page_text(path: Path) -> str:
    """A page's visible text, roughly: tags dropped, entities decoded, the scripts left out."""
    text = re.sub(r"<script\b.*?</script>", " ", path.read_text(), flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)))


@pytest.mark.e2e
def test_the_nightly_run_writes_a_self_contained_page_per_day_and_an_index(night) -> None:
    warehouse, report, output = night
    assert re.search(r"report: \d+ days? written; open .*/report/index\.html", output), output
    page = report / "2026-11-05.html"
    assert {"2026-11-05.html", "index.html"} <= {p.name for p in report.iterdir()}
    content = page.read_text()
    # Nothing loaded from elsewhere: no script or style by address, plotly.js inline.
    assert not re.search(r"<script[^>]*\bsrc=", content)
    assert "<link" not in content
    outside_scripts = re.sub(r"<script\b.*?</script>", "", content, flags=re.S)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", outside_scripts)
    assert "plotly.js v" in content
    assert '<a href="2026-11-05.html">' in (report / "index.html").read_text()
    segments = segments_of_day(
        warehouse, datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 11, 6, tzinfo=UTC)
    )
    assert len(segments) >= 2
    text = page_text(page)
    assert f"{len(segments)} agents on the timeline" in text
    assert f"{sum(segments.values()):,} activity segments" in text


@pytest.mark.e2e
def test_the_page_says_what_is_missing_for_an_agent_with_one_event_and_a_rejected_object(
    night,
) -> None:
    warehouse, report, _ = night
    text = page_text(report / "2026-11-05.html")
    events = "select count(*) from staging.stg_agent_events where agent_arn = ?"
    segments = "select count(*) from marts.fct_agent_activity where agent_arn = ?"
    # A LOGIN alone opens a session: one segment, open up to the latest event.
    assert query(warehouse, events, [LONE + "lone.login"]) == [(1,)]
    assert query(warehouse, segments, [LONE + "lone.login"]) == [(1,)]
    assert "lone.login: only one event on this day (LOGIN at 15:30:00)" in text
    # A heartbeat alone opens nothing: the agent is named, with what is missing.
    assert query(warehouse, events, [LONE + "lone.heartbeat"]) == [(1,)]
    assert query(warehouse, segments, [LONE + "lone.heartbeat"]) == [(0,)]
    assert "lone.heartbeat: 1 event on this day but no activity segment" in text
    (rejected,) = query(
        warehouse, "select error from raw.rejected_records where source_object like '%twice%'"
    )
    assert "0 records and 1 whole object of this day rejected" in text
    assert "twice-compressed-1" in text and "whole object" in text
    assert rejected[0] in text
    assert "Times in UTC" in text


@pytest.mark.e2e
def test_an_empty_day_renders_and_says_the_warehouse_holds_nothing_for_it(night) -> None:
    warehouse, report, _ = night
    result = cli("report", "--day", "2026-11-20", "--warehouse", warehouse)
    assert result.returncode == 0, result.stderr
    text = page_text(report / "2026-11-20.html")
    assert "No agent event and no activity on Friday 20 November 2026 (UTC)" in text
    assert "No activity segment on this day." in text
    assert "No agent on this day." in text
    index = (report / "index.html").read_text()
    assert '<a href="2026-11-20.html">' in index and "(no data)" in index


@pytest.mark.e2e
def test_times_are_in_the_reporting_time_zone_named_on_the_page(night, tmp_path: Path) -> None:
    warehouse, _, _ = night
    env = {**os.environ, "REPORTING_TIMEZONE": "Asia/Tokyo"}
    result = cli("report", "--warehouse", warehouse, "--out", tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    # 15:30 UTC on 5 November is 00:30 on 6 November in Tokyo (UTC+9).
    text = page_text(tmp_path / "2026-11-06.html")
    assert "Times in Asia/Tokyo" in text
    assert "lone.login: only one event on this day (LOGIN at 00:30:00)" in text
    bad = cli("report", "--warehouse", warehouse, env={**env, "REPORTING_TIMEZONE": "Mars/Base"})
    assert bad.returncode == 2
    assert "REPORTING_TIMEZONE='Mars/Base' is not an IANA time zone name" in bad.stderr


@pytest.mark.e2e
def test_the_nightly_run_refreshes_only_the_days_it_loaded(tmp_path: Path) -> None:
    archive, warehouse = tmp_path / "archive", tmp_path / "wh" / "connect.duckdb"
    generate_archive(archive, agents=2, days=1, start=date(2026, 11, 9), seed=3)
    assert cli("run", "--source", archive, "--warehouse", warehouse).returncode == 0
    report = warehouse.parent / "report"
    first = report / "2026-11-09.html"
    stamp = first.stat().st_mtime_ns
    generate_archive(archive, agents=2, days=1, start=date(2026, 11, 13), seed=4)
    second = cli("run", "--source", archive, "--warehouse", warehouse)
    assert second.returncode == 0, second.stderr
    loaded = query(
        warehouse,
        "select count(distinct event_timestamp::date) from raw.agent_events "
        "where event_timestamp >= '2026-11-13 00:00:00+00'",
    )[0][0]
    assert f"report: {loaded} day{'' if loaded == 1 else 's'} written" in second.stderr
    assert first.stat().st_mtime_ns == stamp  # 9 November was not loaded again
    assert (report / "2026-11-13.html").exists()
    # 12 November, the day before the night's first day, has neither data nor a page.
    assert not (report / "2026-11-12.html").exists()
    index = (report / "index.html").read_text()
    assert index.index("2026-11-13.html") < index.index("2026-11-09.html")  # newest first


@pytest.mark.e2e
def test_a_warehouse_without_marts_says_so(tmp_path: Path) -> None:
    missing = cli("report", "--warehouse", tmp_path / "none.duckdb")
    assert missing.returncode == 1
    assert "no warehouse at" in missing.stderr and "make run" in missing.stderr
    bad_day = cli("report", "--day", "5 Nov", "--warehouse", tmp_path / "none.duckdb")
    assert bad_day.returncode == 2
    assert "--day '5 Nov' is not a date as YYYY-MM-DD" in bad_day.stderr


def test_agents_sort_by_name_routing_profile_and_hierarchy_group() -> None:
    agents = [
        Agent("a1", "zoe", "Zoe Adams", "Voice", "Dublin / Team B", segments=1),
        Agent("a2", "al", "Al Brown", "Chat", "Seattle / Team A", segments=1),
        Agent("a3", None, None, None, None, segments=1),
    ]
    orders = _sort_orders(agents)
    assert orders["name"] == (["a3", "a2", "a1"], ["a3", "al", "zoe"])
    assert orders["routing_profile"][0] == ["a2", "a1", "a3"]
    assert orders["routing_profile"][1] == ["Chat · al", "Voice · zoe", "(none) · a3"]
    assert orders["hierarchy"][0] == ["a1", "a2", "a3"]


def test_custom_statuses_get_distinct_colours_the_same_on_every_page() -> None:
    statuses = ["Break", "Lunch", "Training", "Coaching", "Meeting"]
    colours = _colours(["Available", *statuses])
    assert colours["Available"] == "#4caf50"
    assert len({colours[s] for s in statuses}) == len(statuses)
    assert _colours(["Lunch", "Break"]) == _colours(["Break", "Lunch"])


def test_durations_read_as_clock_times() -> None:
    assert [_duration(s) for s in (None, 0, 59.6, 61, 3600, 36_061)] == [
        "—", "0:00", "1:00", "1:01", "1:00:00", "10:01:01",
    ]  # fmt: skip


def test_the_reporting_time_zone_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("REPORTING_TIMEZONE", raising=False)
    assert reporting_timezone() == ZoneInfo("UTC")
    monkeypatch.setenv("REPORTING_TIMEZONE", "Europe/Paris")
    assert reporting_timezone() == ZoneInfo("Europe/Paris")
    monkeypatch.setenv("REPORTING_TIMEZONE", "Europe/Nowhere")
    with pytest.raises(InvalidSetting, match="Europe/Nowhere"):
        reporting_timezone()


@pytest.mark.e2e
def test_a_report_that_cannot_be_written_leaves_the_night_published_and_exits_1(
    tmp_path: Path,
) -> None:
    archive, warehouse = tmp_path / "archive", tmp_path / "wh" / "connect.duckdb"
    generate_archive(archive, agents=1, days=1, start=date(2026, 11, 9), seed=5)
    warehouse.parent.mkdir()
    (warehouse.parent / "report").write_text("a file where the report's folder goes")
    result = cli("run", "--source", archive, "--warehouse", warehouse)
    assert result.returncode == 1
    assert "dbt build: every model built and every test passed" in result.stderr
    assert re.search(r"report: not refreshed: .*File exists", result.stderr), result.stderr
    assert query(warehouse, "select published, exit_status from raw.runs") == [(True, 0)]
