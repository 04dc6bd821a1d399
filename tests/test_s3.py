"""The ingest against a real S3-compatible server on loopback, through s3fs as in production."""

from __future__ import annotations

import gzip
from pathlib import Path

import boto3
import orjson
import pytest
from helpers import counts, event, ingest, query

pytestmark = pytest.mark.e2e


def _put(endpoint: str, bucket: str, key: str, records: list[dict]) -> None:
    """Upload one gzip object of back-to-back records."""
    body = gzip.compress(b"".join(orjson.dumps(r) for r in records))
    boto3.client("s3", endpoint_url=endpoint).put_object(Bucket=bucket, Key=key, Body=body)


def test_s3_archive_with_more_than_a_listing_page(
    s3_server: str, s3_bucket: str, tmp_path: Path
) -> None:
    n = 1_050
    for i in range(n):
        hour = f"2026/11/02/{i // 100:02d}"
        at = f"2026-11-02T{i // 100:02d}:00:{i % 60:02d}.000Z"
        _put(s3_server, s3_bucket, f"agents/{hour}/stream-1-{i:05d}.gz", [event(f"e{i}", at)])
    _put(
        s3_server,
        s3_bucket,
        "elsewhere/2026/11/02/00/not-this.gz",
        [event("x", "2026-11-02T00:00:00Z")],
    )
    wh = tmp_path / "wh.duckdb"

    summary = ingest(f"s3://{s3_bucket}/agents", wh)
    assert (summary.new, summary.records, summary.ok) == (n, n, True)
    assert query(
        wh, "select count(distinct event_id), min(source_object) from raw.agent_events"
    ) == [(n, f"s3://{s3_bucket}/agents/2026/11/02/00/stream-1-00000.gz")]
    etags = query(wh, "select count(*) from raw.ingested_objects where length(etag) = 32")
    assert etags == [(n,)]

    before = counts(wh)
    again = ingest(f"s3://{s3_bucket}/agents", wh)
    assert (again.new, again.skipped, counts(wh)) == (0, n, before)

    _put(
        s3_server,
        s3_bucket,
        "agents/2026/11/03/00/stream-1-late.gz",
        [event("late", "2026-11-03T00:00:00Z")],
    )
    late = ingest(f"s3://{s3_bucket}/agents", wh)
    assert (late.new, late.records) == (1, 1)
