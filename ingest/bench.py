"""Benchmark: the ingest beside DuckDB's own read_json on the same generated archive."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.sample import events_for_target, generate_archive

DUCKDB_REFERENCE = """
import sys, duckdb
con = duckdb.connect(sys.argv[2])
files = sys.argv[1] + "/**/*.gz"
con.execute("create table events as select * from read_json(?, format='auto')", [files])
print(con.execute("select count(*) from events").fetchall()[0][0])
"""


@dataclass(frozen=True)
class Measure:
    """Wall time, CPU time and peak memory of one child process."""

    seconds: float
    cpu_seconds: float
    peak_rss_mib: float


def measure(args: list[str]) -> Measure:
    """Run a command to completion; its wall time, CPU time (user + system) and peak memory."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{args[0]} failed with status {status}")
    return Measure(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def archive_for(events: int, root: Path) -> tuple[Path, int, int]:
    """The generated archive for a target size (made once, then reused); path, events, bytes."""
    agents, days = events_for_target(events)
    path = root / f"agents{agents}-days{days}"
    done = path / ".complete"
    if not done.exists():
        shutil.rmtree(path, ignore_errors=True)
        stats = generate_archive(path, agents=agents, days=days)
        done.write_text(str(stats.events))
    size = sum(p.stat().st_size for p in path.rglob("*.gz"))
    return path, int(done.read_text()), size


def main() -> None:
    """Print events/s, MB/s and peak RSS of the ingest and of DuckDB's read_json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--archives", type=Path, default=Path("bench-archive"))
    args = parser.parse_args()
    archive, events, size = archive_for(args.events, args.archives)
    mb = size / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        cli = str(Path(sys.executable).with_name("connect-warehouse"))
        ours = measure(
            [cli, "ingest", "--source", str(archive), "--warehouse", f"{tmp}/ours.duckdb"]
        )
        ref = measure([sys.executable, "-c", DUCKDB_REFERENCE, str(archive), f"{tmp}/ref.duckdb"])
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"archive: {events:,} events, {mb:,.1f} MB gzip, {archive}")
    print(
        f"{'':28}{'seconds':>9}{'events/s':>11}{'MB/s':>8}{'peak RSS':>11}{'CPU s':>8}{'cores':>7}"
    )
    for name, m in (("ingest (this project)", ours), ("duckdb read_json auto", ref)):
        print(
            f"{name:28}{m.seconds:9.1f}{events / m.seconds:11,.0f}"
            f"{mb / m.seconds:8.1f}{m.peak_rss_mib:8.0f} MiB"
            f"{m.cpu_seconds:8.1f}{m.cpu_seconds / m.seconds:7.2f}"
        )
    print(f"ratio (ingest / read_json events/s): {ref.seconds / ours.seconds:.2f}")


if __name__ == "__main__":
    main()
