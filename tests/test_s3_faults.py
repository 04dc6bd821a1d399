"""S3 faults, injected for real: the ingest reads the real S3 server through a faulty proxy."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import boto3
import orjson
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from fault_proxy import Action, Fault, FaultProxy, running
from helpers import counts, event, ingest, query

from ingest.config import S3_MAX_ATTEMPTS, S3FS_RETRIES

LISTING = "list-type=2"


@pytest.fixture
def proxy(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """The fault proxy in front of the test S3 server, and the ingest pointed at it."""
    with running(s3_server) as faulty:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", faulty.url)
        yield faulty
    assert not faulty.alive()


def _upload(endpoint: str, bucket: str, n: int) -> list[str]:
    """n one-record gzip objects under agents/, put in parallel straight to the server; their keys."""
    client = boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=32))
    keys = [f"agents/2026/11/02/{i // 500:02d}/stream-1-{i:05d}.gz" for i in range(n)]

    def put(i: int) -> None:
        """Upload object i."""
        at = f"2026-11-02T{i // 500:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z"
        body = gzip.compress(orjson.dumps(event(f"e{i}", at)), mtime=0)
        client.put_object(Bucket=bucket, Key=keys[i], Body=body)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(n)))
    return keys


def _loaded_once(wh: Path, bucket: str, keys: list[str]) -> None:
    """Every key is in the manifest and has its one event, exactly once; nothing was rejected."""
    tally = counts(wh)
    assert (tally["ingested_objects"], tally["agent_events"], tally["rejected_records"]) == (
        len(keys),
        len(keys),
        0,
    )
    objects = query(wh, "select source_object from raw.ingested_objects order by 1")
    assert objects == [(f"s3://{bucket}/{k}",) for k in sorted(keys)]
    events = query(
        wh, "select count(distinct source_object), count(distinct event_id) from raw.agent_events"
    )
    assert events == [(len(keys), len(keys))]


@pytest.mark.e2e
def test_transient_503s_and_cut_connections_are_retried(
    proxy: FaultProxy, s3_server: str, s3_bucket: str, tmp_path: Path
) -> None:
    """503s on a listing page and a share of GETs, cut and truncated connections: all retried."""
    keys = _upload(s3_server, s3_bucket, 40)
    proxy.set_faults(
        Fault("503", "GET", LISTING, first=2),
        Fault("cut", "GET", "stream-1-0000", first=3),  # 3 cuts among keys 0-9
        Fault("truncate", "GET", "stream-1-00010", first=1),  # half the body, then cut
        Fault("truncate", "GET", "stream-1-00011", first=1),
        Fault("503", "GET", "stream-1-0002", first=2, per_path=True),  # keys 20-29: twice each
    )
    wh = tmp_path / "wh.duckdb"

    summary = ingest(f"s3://{s3_bucket}/agents", wh)

    assert (summary.ok, summary.new, summary.records, summary.unfetched) == (True, 40, 40, 0)
    _loaded_once(wh, s3_bucket, keys)
    # Every fault was met, and every failed attempt was followed by another until one went through.
    objects = f"/{s3_bucket}/agents/"
    assert proxy.count("GET", LISTING, "503") == 2
    assert proxy.count("GET", LISTING, "forwarded") == 1
    assert proxy.count("GET", objects, "cut") == 3
    assert proxy.count("GET", objects, "truncate") == 2
    assert proxy.count("GET", objects, "503") == 10 * 2
    assert proxy.count("GET", objects, "forwarded") == 40
    assert proxy.count("HEAD") == 0

    proxy.set_faults()
    again = ingest(f"s3://{s3_bucket}/agents", wh)
    assert (again.ok, again.new, again.skipped) == (True, 0, 40)
    _loaded_once(wh, s3_bucket, keys)


@pytest.mark.e2e
@pytest.mark.parametrize("action", ["503", "cut"])
def test_an_object_that_keeps_failing_is_rejected_then_loaded_next_run(
    action: Action, proxy: FaultProxy, s3_server: str, s3_bucket: str, tmp_path: Path
) -> None:
    """An object whose GETs always fail is rejected, not loaded, and loaded alone next run."""
    keys = _upload(s3_server, s3_bucket, 12)
    bad = keys[5]
    proxy.set_faults(Fault(action, "GET", f"/{s3_bucket}/{bad}", always=True))
    wh = tmp_path / "wh.duckdb"

    first = ingest(f"s3://{s3_bucket}/agents", wh)

    assert (first.ok, first.new, first.records, first.unfetched) == (False, 11, 11, 1)
    # botocore's attempts inside s3fs's; a cut is also retried by s3fs's outer layer around the
    # body read, and once more by aiohttp when it happens on a reused keep-alive connection
    attempts = S3_MAX_ATTEMPTS * S3FS_RETRIES
    if action == "503":
        assert proxy.count("GET", bad, "503") == attempts
    else:
        assert (
            attempts * S3FS_RETRIES <= proxy.count("GET", bad, "cut") <= attempts * S3FS_RETRIES * 2
        )
    assert proxy.count("GET", bad, "forwarded") == 0
    manifest = query(wh, "select source_object from raw.ingested_objects order by 1")
    assert manifest == [(f"s3://{s3_bucket}/{k}",) for k in keys if k != bad]
    rejected = query(wh, "select source_object, byte_offset, error from raw.rejected_records")
    assert len(rejected) == 1
    source, offset, error = rejected[0]
    assert (source, offset) == (f"s3://{s3_bucket}/{bad}", None)
    assert error.startswith("object could not be fetched (") and error.endswith(
        "; retried next run"
    )
    reason = "Please reduce your request rate" if action == "503" else "Connection was closed"
    assert reason in error
    assert counts(wh)["agent_events"] == 11

    proxy.set_faults()
    proxy.reset_counts()
    second = ingest(f"s3://{s3_bucket}/agents", wh)

    assert (second.ok, second.new, second.skipped, second.records) == (True, 1, 11, 1)
    assert proxy.count("GET", f"/{s3_bucket}/agents/", "forwarded") == 1
    assert proxy.count("GET", bad, "forwarded") == 1
    assert counts(wh)["rejected_records"] == 1  # the first run's report stays
    assert counts(wh)["ingested_objects"] == counts(wh)["agent_events"] == 12
    late = query(
        wh, f"select count(*) from raw.agent_events where source_object = 's3://{s3_bucket}/{bad}'"
    )
    assert late == [(1,)]


@pytest.mark.e2e
def test_a_listing_of_thousands_of_objects_pages_through_503s(
    proxy: FaultProxy, s3_server: str, s3_bucket: str, tmp_path: Path
) -> None:
    """2,500 objects list in three pages through 503s on every page, each loaded once."""
    n = 2_500
    keys = _upload(s3_server, s3_bucket, n)
    # pages of 1,000 keys: the first page's request fails twice, every later page's once
    proxy.set_faults(
        Fault("503", "GET", LISTING, first=1, every=2),
        Fault("503", "GET", f"/{s3_bucket}/agents/", every=500),
    )
    wh = tmp_path / "wh.duckdb"

    summary = ingest(f"s3://{s3_bucket}/agents", wh)

    assert (summary.ok, summary.listed, summary.new, summary.records) == (True, n, n, n)
    assert proxy.count("GET", LISTING, "forwarded") == 3
    assert proxy.count("GET", "continuation-token=", "forwarded") == 2
    assert proxy.count("GET", LISTING, "503") == 4
    assert proxy.count("GET", f"/{s3_bucket}/agents/", "503") >= n // 500
    assert proxy.count("GET", f"/{s3_bucket}/agents/", "forwarded") == n
    _loaded_once(wh, s3_bucket, keys)


class _Recorder(BaseHTTPRequestHandler):
    """An upstream that records each request and answers 200 with an empty body."""

    protocol_version = "HTTP/1.1"
    received: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def do_PUT(self) -> None:
        """Record the request, answer 200."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((self.command, self.path, dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""


def test_the_proxy_forwards_requests_untouched_so_signatures_stay_valid() -> None:
    """A signed request reaches upstream unchanged, Host included: its SigV4 signature holds."""
    _Recorder.received.clear()
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    try:
        with running(f"http://127.0.0.1:{upstream.server_address[1]}") as faulty:
            client = boto3.client(
                "s3",
                endpoint_url=faulty.url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name="us-east-1",
            )
            client.put_object(Bucket="some-bucket", Key="a/b.gz", Body=b"payload " * 10_000)
    finally:
        upstream.shutdown()
        upstream.server_close()
    [(method, path, headers, body)] = _Recorder.received
    assert (method, path, body) == ("PUT", "/some-bucket/a/b.gz", b"payload " * 10_000)
    assert headers["Host"] == faulty.url.removeprefix("http://")

    def signature(host: str) -> str:
        """The SigV4 signature of the received request, as if it had been sent to host."""
        names = headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
        signed = {k: v for k, v in headers.items() if k.lower() in names} | {"Host": host}
        request = AWSRequest(method=method, url=f"http://{host}{path}", headers=signed, data=body)
        request.context["timestamp"] = headers["X-Amz-Date"]
        auth = S3SigV4Auth(Credentials("testing", "testing"), "s3", "us-east-1")
        return auth.signature(
            auth.string_to_sign(request, auth.canonical_request(request)), request
        )

    assert headers["Authorization"].endswith(f"Signature={signature(headers['Host'])}")
    # a proxy that rewrote Host to its upstream would have broken the signature
    rewritten = f"127.0.0.1:{upstream.server_address[1]}"
    assert not headers["Authorization"].endswith(f"Signature={signature(rewritten)}")
