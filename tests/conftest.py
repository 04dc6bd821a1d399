"""Shared fixtures: real sample records, archives on disk, a real S3 server, warehouse queries."""

from __future__ import annotations

import copy
import gzip
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import duckdb
import orjson
import pytest

from ingest.config import Settings
from ingest.pipeline import IngestSummary, run_ingest

REAL_EVENTS = Path(__file__).resolve().parent / "fixtures" / "real-events"


def real_event(name: str) -> dict:
    """One of the clean AWS documentation samples, parsed."""
    return orjson.loads((REAL_EVENTS / "clean" / f"awsdocs-{name}.json").read_bytes())


def event(event_id: str, at: str, event_type: str = "STATE_CHANGE", **changes: object) -> dict:
    """A real STATE_CHANGE record (AWS's ACW sample) with a new id, time and type."""
    record = copy.deepcopy(real_event("acw-1"))
    record.update(EventId=event_id, EventTimestamp=at, EventType=event_type, **changes)
    return record


def write_object(
    path: Path, records: list[dict | bytes], sep: bytes = b"", gz: bool = True
) -> Path:
    """A Firehose-like object: records back to back (or with sep), gzip by default."""
    data = sep.join(r if isinstance(r, bytes) else orjson.dumps(r) for r in records)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def ingest(source: Path | str, warehouse: Path, **settings: int) -> IngestSummary:
    """Run the real ingest in-process."""
    return run_ingest(Settings(source=str(source), warehouse=warehouse, **settings))


def query(warehouse: Path, sql: str) -> list[tuple]:
    """All rows of a query on the warehouse, opened read-only."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def counts(warehouse: Path) -> dict[str, int]:
    """Row counts of every raw table."""
    tables = [
        "agent_events",
        "agent_event_contacts",
        "agent_event_concurrency",
        "agent_event_queues",
        "ingested_objects",
        "rejected_records",
    ]
    return {t: query(warehouse, f"select count(*) from raw.{t}")[0][0] for t in tables}


def _free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3-compatible server (moto_server) on 127.0.0.1, and the env pointing at it."""
    port = _free_port()
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        _wait_for(port)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _wait_for(port: int, seconds: float = 20.0) -> None:
    """Block until something accepts connections on the port."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"moto_server did not start on port {port}")


@pytest.fixture
def s3_bucket(s3_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh bucket on the test S3 server."""
    name = "firehose-" + request.node.name.lower().replace("_", "-")[:40]
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=name)
    return name
