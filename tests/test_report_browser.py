"""The sample's report and the dbt docs as a person sees them: in headless Chromium, from disk."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browser import Chromium
from helpers import ROOT, cli, query, segments_of_day

from ingest.sample import generate_archive

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(1200)]

SCREENSHOTS = ROOT / "target" / "browser"
CHARTS_DRAWN = """
    Array.from(document.querySelectorAll('.js-plotly-plot')).every(
        g => g._fullLayout && g.querySelector('.main-svg') && g.querySelector('.trace'))
"""
TICKS = "Array.from(document.querySelectorAll('#timeline .ytick text')).map(t => t.textContent)"
CYTOSCAPE = "Array.from(document.querySelectorAll('div')).find(e => e._cyreg)._cyreg.cy"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample archive (20 agents, 2 days) through `run`: the warehouse and its report."""
    root = tmp_path_factory.mktemp("browser")
    generate_archive(root / "archive")
    warehouse = root / "wh" / "connect.duckdb"
    result = cli("run", "--source", root / "archive", "--warehouse", warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    return warehouse, warehouse.parent / "report"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """One headless Chromium for the module."""
    chromium = Chromium(tmp_path_factory.mktemp("chromium") / "profile")
    yield chromium
    chromium.close()


def expected_timeline(warehouse: Path, day: date) -> dict[str, tuple[str, int]]:
    """Per agent of the day: the username on its row and its fct_agent_activity segments."""
    start = datetime.combine(day, time(), tzinfo=ZoneInfo("UTC"))
    segments = segments_of_day(warehouse, start, start + timedelta(days=1))
    names = dict(
        query(warehouse, "select agent_arn, username from marts.dim_agent where is_current")
    )
    return {arn: (names[arn], count) for arn, count in segments.items()}


def test_every_page_of_the_sample_report_renders_without_an_error(sample, browser) -> None:
    _, report = sample
    pages = sorted(report.glob("*.html"))
    days = [p for p in pages if p.name != "index.html"]
    assert len(days) >= 2, pages
    for page in pages:
        browser.open(page.as_uri())
        browser.wait_for(CHARTS_DRAWN)
        shot = browser.screenshot(SCREENSHOTS / f"report-{page.stem}.png")
        print(f"{page.name}: screenshot {shot}")
        assert browser.problems() == [], page.name
        assert browser.requests() == [page.as_uri()], "the page loads nothing but itself"
        assert browser.evaluate("document.getElementById('timezone').textContent") == "UTC"
    browser.open((report / "index.html").as_uri())
    links = browser.evaluate("Array.from(document.querySelectorAll('#days a')).map(a => a.href)")
    assert sorted(links) == [p.as_uri() for p in days]


def test_the_timeline_shows_every_agent_with_the_segments_of_fct_agent_activity(
    sample, browser
) -> None:
    warehouse, report = sample
    for page in sorted(report.glob("????-??-??.html")):
        expected = expected_timeline(warehouse, date.fromisoformat(page.stem))
        browser.open(page.as_uri())
        browser.wait_for(CHARTS_DRAWN)
        drawn = browser.evaluate(
            "[].concat(...document.getElementById('timeline').data.map(t => t.y))"
        )
        assert Counter(drawn) == {arn: n for arn, (_, n) in expected.items()}, page.name
        assert sorted(browser.evaluate(TICKS)) == sorted(u for u, _ in expected.values())
        bars = browser.evaluate("document.querySelectorAll('#timeline .trace.bars .point').length")
        assert bars == sum(n for _, n in expected.values()), page.name
        floor = browser.evaluate("document.querySelectorAll('#floor .trace.bars .point').length")
        assert floor > 0, page.name


def test_the_agents_sort_by_routing_profile_from_the_menu_and_the_table_by_a_click(
    sample, browser
) -> None:
    _, report = sample
    page = sorted(report.glob("????-??-??.html"))[0]
    browser.open(page.as_uri())
    browser.wait_for(CHARTS_DRAWN)
    by_name = browser.evaluate(TICKS)
    assert by_name[0].count(" · ") == 0
    browser.evaluate(  # the widest bar: a bar of a few seconds is too thin to point at
        "Array.from(document.querySelectorAll('#timeline .trace.bars .point path')).reduce("
        "(a, b) => b.getBoundingClientRect().width > a.getBoundingClientRect().width ? b : a)"
        ".setAttribute('id', 'bar'); 1"
    )
    browser.click("#bar")  # the mouse moves onto the bar first: its hover label shows
    hover = browser.wait_for(
        "Array.from(document.querySelectorAll('#timeline .hovertext')).map(t => t.textContent)"
        ".join(' ')"
    )
    assert re.search(r"start 2026-\d\d-\d\d \d\d:\d\d:\d\d UTC.*end .*status .*contacts \d", hover)
    browser.click("#timeline .updatemenu-header")
    browser.wait_for("document.querySelectorAll('#timeline .updatemenu-dropdown-button').length")
    browser.evaluate(
        "Array.from(document.querySelectorAll('#timeline .updatemenu-dropdown-button'))"
        ".find(b => b.textContent === 'Sort by routing profile').setAttribute('id', 'by-profile')"
    )
    browser.click("#by-profile")
    browser.wait_for(f"{TICKS}[0].includes(' · ')")
    by_profile = browser.evaluate(TICKS)
    profiles = [label.split(" · ")[0] for label in by_profile]
    assert profiles == sorted(profiles) and len(set(profiles)) > 1
    assert sorted(label.split(" · ")[1] for label in by_profile) == sorted(by_name)
    browser.screenshot(SCREENSHOTS / f"report-{page.stem}-by-profile.png")

    handled = "Array.from(document.querySelectorAll('#agents tbody tr')).map(r => +r.cells[10].dataset.sort)"
    browser.click("#agents thead th:nth-child(11)")
    first = browser.evaluate(handled)
    assert first == sorted(first, reverse=True) and first[0] > first[-1]
    browser.click("#agents thead th:nth-child(11)")
    assert browser.evaluate(handled) == sorted(first)
    assert browser.problems() == []


def test_the_dbt_docs_lineage_graph_shows_the_parents_of_fct_agent_activity(
    sample, browser
) -> None:
    warehouse, _ = sample
    result = cli("docs", "--warehouse", warehouse, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    manifest = json.loads((ROOT / "target" / "manifest.json").read_text())
    node_id = next(k for k in manifest["nodes"] if k.endswith(".fct_agent_activity"))
    parents = {
        manifest["nodes"][p]["name"] for p in manifest["nodes"][node_id]["depends_on"]["nodes"]
    }
    assert parents
    browser.open(f"{(ROOT / 'target' / 'static_index.html').as_uri()}#!/model/{node_id}")
    browser.wait_for("Array.from(document.querySelectorAll('div')).some(e => e._cyreg)")
    browser.wait_for("document.querySelector('.launcher-btn a')")
    browser.click(".launcher-btn a")
    shown = f"{CYTOSCAPE}.nodes().filter(n => n.visible()).map(n => n.data('label'))"
    browser.wait_for(f"{shown}.includes('fct_agent_activity')")
    edges = browser.evaluate(
        f"{CYTOSCAPE}.edges().filter(e => e.visible())"
        ".map(e => [e.source().data('label'), e.target().data('label')])"
    )
    shot = browser.screenshot(SCREENSHOTS / "docs-lineage-fct_agent_activity.png")
    print(f"lineage: screenshot {shot}")
    assert parents <= set(browser.evaluate(shown))
    assert parents <= {source for source, target in edges if target == "fct_agent_activity"}
