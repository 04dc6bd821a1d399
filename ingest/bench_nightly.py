"""Benchmark: one night on a long history beside the same night on a one-day history."""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.publishing import clone_file
from ingest.sample import generate_archive
from ingest.transform import project_fingerprint

GROWTH_GOAL = 1.2
EMPTY_NIGHT_GOAL_SECONDS = 5.0
INGEST_LINE = re.compile(r"ingest: .*?([\d,]+) records loaded.*?([\d.]+) s, ")


@dataclass(frozen=True)
class Night:
    """One timed `connect-warehouse run`: wall seconds, records loaded, the ingest's seconds."""

    seconds: float
    records: int
    ingest_seconds: float
    warehouse_mb: float


def day_folders(archive: Path) -> list[Path]:
    """The archive's YYYY/MM/DD folders, oldest first."""
    return sorted(p for p in archive.glob("*/*/*") if p.is_dir())


def link_tree(folders: list[Path], archive: Path, into: Path) -> None:
    """Put the folders' objects under into/ at the same relative paths (hard links if possible)."""
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                target = into / path.relative_to(archive)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(path, target)
                except OSError:
                    shutil.copyfile(path, target)


def run(source: Path, warehouse: Path, command: str = "run") -> Night:
    """Time one nightly run as a user starts it."""
    cli = str(Path(sys.executable).with_name("connect-warehouse"))
    started = time.perf_counter()
    proc = subprocess.run(
        [
            cli,
            command,
            *(("--source", str(source)) if command == "run" else ()),
            "--warehouse",
            str(warehouse),
        ],
        capture_output=True,
        text=True,
        env=os.environ | {"NO_COLOR": "1"},
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"the run on {warehouse} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    if command == "run" and "dbt build: full refresh" in proc.stderr:
        sys.exit(f"the run on {warehouse} was a full refresh: it would not time a night")
    found = INGEST_LINE.search(proc.stderr)
    records, ingest_seconds = (int(found[1].replace(",", "")), float(found[2])) if found else (0, 0)
    return Night(seconds, records, ingest_seconds, warehouse.stat().st_size / 1e6)


def fill(source: Path, archive: Path, folders: list[Path]) -> Path:
    """Make source hold exactly the given day folders' objects (the manifest keys on the path)."""
    shutil.rmtree(source, ignore_errors=True)
    link_tree(folders, archive, source)
    return source


def history(archive: Path, days: list[Path], work: Path, name: str) -> Path:
    """A warehouse built from the given days (made once, then reused)."""
    base = work / f"{name}.duckdb"
    if not (work / f"{name}.complete").exists():
        base.unlink(missing_ok=True)
        run(fill(work / "source", archive, days), base)
        (work / f"{name}.complete").touch()
    if _built_by(base) != project_fingerprint():  # else the timed night would be a full refresh
        print(f"{base}: built by another version of the project; rebuilding it (not timed)")
        run(work / "source", base, command="build")
    return base


def _built_by(warehouse: Path) -> str | None:
    """The project fingerprint of the warehouse's last published build."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        last = con.execute(
            "select dbt_fingerprint from raw.runs"
            " where dbt_status is not null and published order by ended_at desc limit 1"
        ).fetchone()
    return last[0] if last else None


def night_on(archive: Path, days: list[Path], base: Path, work: Path) -> Night:
    """Time the night's run on a clone of a built history; the clone is left for the next run."""
    source = fill(work / "source", archive, days)
    warehouse = work / "night" / "connect.duckdb"
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    warehouse.parent.mkdir(parents=True)
    clone_file(base, warehouse)
    return run(source, warehouse)


def main() -> None:
    """Print the nights' times, the growth ratio and the empty night's time."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--days", type=int, default=8, help="days of history before the night")
    parser.add_argument("--archives", type=Path, default=Path("bench-archive"))
    parser.add_argument(
        "--work", type=Path, help="where the warehouses go [default: under --archives]"
    )
    args = parser.parse_args()
    archive = args.archives / f"nightly-agents{args.agents}-days{args.days + 1}"
    if not (archive / ".complete").exists():
        shutil.rmtree(archive, ignore_errors=True)
        generate_archive(archive, agents=args.agents, days=args.days + 1)
        (archive / ".complete").touch()
    work = args.work or args.archives / f"nightly-work-agents{args.agents}-days{args.days}"
    work.mkdir(parents=True, exist_ok=True)
    folders = day_folders(archive)
    past, night = folders[: args.days], folders[args.days :]

    long_base = history(archive, past, work, f"history-{args.days}-days")
    short_base = history(archive, past[-1:], work, "history-1-day")
    on_long = night_on(archive, past + night, long_base, work)
    empty = run(work / "source", work / "night" / "connect.duckdb")
    on_short = night_on(archive, past[-1:] + night, short_base, work)

    probe = work / ".probe"
    probe.write_bytes(b"x")
    method = clone_file(probe, work / ".probe-clone")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"history: {args.agents} agents x {args.days} days; the night: {night[0].name} and on")
    print(f"publish: {method} of the warehouse file under {work}")
    print(f"{'':34}{'seconds':>9}{'records':>10}{'ingest s':>10}{'warehouse':>12}")
    for name, n in (
        (f"night on {args.days} days of history", on_long),
        ("night on 1 day of history", on_short),
        (f"empty night on {args.days} days", empty),
    ):
        print(
            f"{name:34}{n.seconds:9.1f}{n.records:10,}{n.ingest_seconds:10.1f}"
            f"{n.warehouse_mb:9.0f} MB"
        )
    ratio = on_long.seconds / on_short.seconds
    print(f"growth ({args.days} days / 1 day): {ratio:.2f}x (goal <= {GROWTH_GOAL}x)")
    print(f"empty night: {empty.seconds:.1f} s (goal < {EMPTY_NIGHT_GOAL_SECONDS:.0f} s)")


if __name__ == "__main__":
    main()
