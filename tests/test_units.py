"""Table-driven tests of the ingest's pure functions: spans, splitting, errors, decompression."""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from ingest.parsing import _duplicate_key, parse_timestamp
from ingest.publishing import clone_file
from ingest.reading import Content, UnreadableObject, decompress
from ingest.splitting import Piece, candidate_spans, json_error, split_strictly

BOM = b"\xef\xbb\xbf"
EVENT = b'{"EventId":"e1","AgentARN":"a"}'


@pytest.mark.parametrize(
    ("data", "spans"),
    [
        (b"", []),
        (b" \n\t", []),
        (b"{}", [(0, 2)]),
        (b"{}{}", [(0, 2), (2, 4)]),
        (b"{} \r\n{}\n", [(0, 2), (5, 7)]),
        (BOM + b"{}", [(3, 5)]),
        (b"\n" + BOM + BOM + b" {}", [(8, 10)]),
        (b'{"a":"}{"}', [(0, 7), (7, 10)]),  # a cut inside a string: rejoined by split_strictly
        (b"{}\f{}", [(0, 5)]),  # a form feed is not JSON whitespace
    ],
)
def test_candidate_spans(data: bytes, spans: list[tuple[int, int]]) -> None:
    assert candidate_spans(data) == spans


@pytest.mark.parametrize(
    ("data", "pieces"),
    [
        (EVENT + EVENT, [(0, 31, None), (31, 62, None)]),
        (b'{"a":"}{"}', [(0, 10, None)]),
        (EVENT + b"\x85" + EVENT, [(0, 31, None), (31, 32, "byte 31 (0x85)"), (32, 63, None)]),
        (b'{"a":"\x85"}', [(0, 9, "byte 6 (0x85) is not UTF-8")]),
        (EVENT[:20] + EVENT, [(0, 20, "unexpected end of data"), (20, 51, None)]),
        (EVENT + b"\n" + BOM + EVENT, [(0, 31, None), (32, 35, "invalid JSON"), (35, 66, None)]),
        (b"[" + EVENT + b", " + EVENT + b"]", [(1, 32, None), (34, 65, None)]),
        (b"[]", []),
        (EVENT + b"]" + EVENT, [(0, 31, None), (31, 32, "invalid JSON"), (32, 63, None)]),
    ],
)
def test_split_strictly(data: bytes, pieces: list[tuple[int, int, str | None]]) -> None:
    got = split_strictly(data)
    assert [(p.start, p.end) for p in got] == [(start, end) for start, end, _ in pieces]
    for piece, (_, _, error) in zip(got, pieces, strict=True):
        assert (piece.error is None) == (error is None) and (error or "") in (piece.error or "")


def test_split_strictly_gives_up_past_its_deadline_and_says_so() -> None:
    assert split_strictly(EVENT + b"x" + EVENT, seconds=0) == [
        Piece(
            0, 63, "not split into records: splitting took longer than allowed (bytes 0 to the end)"
        )
    ]


@pytest.mark.parametrize(
    ("chunk", "offset", "error"),
    [
        (b'{"a":1}', None, None),
        (b'{"a":', 100, "unexpected end of data at byte 105 (line 1, column 6 of the record)"),
        (b'{"a":NaN}', 0, "expected a JSON value at byte 5 (line 1, column 6 of the record)"),
        (b'{"a":"\xff"}', 10, "byte 16 (0xff) is not UTF-8 text"),
        (b'{"a" 1, "b":"\xff"}', 0, "expected ':' after key at byte 5"),  # the first error first
        (b'{"\xc3\xa9":1 x}', 0, "at byte 8 (line 1, column 8 of the record), found 'x'"),
    ],
)
def test_json_error(chunk: bytes, offset: int | None, error: str | None) -> None:
    found = json_error(chunk, offset)
    assert found is None if error is None else found.startswith("invalid JSON: ") and error in found


def _zip(*members: bytes) -> bytes:
    """A ZIP archive of the members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, member in enumerate(members):
            archive.writestr(f"m{i}", member)
    return buffer.getvalue()


GZ = gzip.compress(EVENT * 3, mtime=0)


@pytest.mark.parametrize(
    ("data", "content"),
    [
        (EVENT, Content(EVENT)),
        (GZ, Content(EVENT * 3)),
        (GZ + gzip.compress(EVENT), Content(EVENT * 4)),  # two gzip members
        (_zip(EVENT, EVENT), Content(EVENT * 2)),
        (
            GZ + b"\n\n",
            Content(
                EVENT * 3,
                f"gzip object has 2 bytes of trailing data after its gzip stream, from byte "
                f"{len(GZ)} of the object, that are not gzip",
                93,
            ),
        ),
        (
            GZ[:-8],
            Content(EVENT * 3, "gzip object is truncated: it ends before its gzip stream does", 93),
        ),
        (
            GZ[:-4] + b"\x00\x00\x00\x00",  # a wrong length in the trailer
            Content(
                EVENT * 3,
                f"gzip object is damaged: incorrect length check at byte {len(GZ) - 1} of the object",
                93,
            ),
        ),
        (
            GZ[:-8] + b"\x00\x00\x00\x00" + GZ[-4:],  # a wrong checksum
            Content(
                EVENT * 3,
                f"gzip object is damaged: its checksum does not match its content at byte {len(GZ) - 5} of the object",
                93,
            ),
        ),
    ],
)
def test_decompress(data: bytes, content: Content) -> None:
    assert decompress(data, 2**20) == content


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (gzip.compress(GZ), "compressed twice (gzip inside"),
        (_zip(GZ), "compressed twice (gzip inside"),
        (gzip.compress(b" " * 2000), "expands to more than 1,000 bytes"),
        (_zip(b" " * 2000), "expands to more than 1,000 bytes"),
        (b"\xff\x06\x00\x00sNaPpY" + b"\x00" * 20, "object is Snappy-compressed"),
        (b"\x00\x00\x10\x00\x00\x00\x02\x1a" + EVENT, "object is binary, not JSON text"),
        (b"PK\x03\x04 not really a zip", "ZIP object is corrupt or truncated"),
    ],
)
def test_decompress_refuses(data: bytes, error: str) -> None:
    with pytest.raises(UnreadableObject, match=re.escape(error)):
        decompress(data, 1_000)


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-11-02T08:00:00.123Z", datetime(2026, 11, 2, 8, 0, 0, 123000, UTC)),
        ("2026-11-02t08:00:00.123z", datetime(2026, 11, 2, 8, 0, 0, 123000, UTC)),
        ("2026-11-02 08:00:00Z", datetime(2026, 11, 2, 8, 0, 0, tzinfo=UTC)),
        ("2026-11-02T10:00:00.5+02:00", datetime(2026, 11, 2, 8, 0, 0, 500000, UTC)),
        ("2026-11-02T08:00:00", None),  # no offset: not an instant
        ("yesterday", None),
    ],
)
def test_parse_timestamp(text: str, instant: datetime | None) -> None:
    parsed = pl.select(parse_timestamp(pl.lit(text))).item()
    assert parsed == instant


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"a":1,"a":2}', "a"),
        ('{"a":{"b":1,"c":2,"b":3}}', "b"),
        ('[{"x":1},{"y":1,"y":1}]', "y"),
        ('{"a":{"b":1},"b":{"a":2}}', None),
        ('{"a":"\\"a\\":1"}', None),
    ],
)
def test_duplicate_key(text: str, key: str | None) -> None:
    assert _duplicate_key(text) == key


def test_a_clone_is_the_file_and_writing_to_it_leaves_the_original(tmp_path: Path) -> None:
    original = bytes(range(256)) * 12_288  # 3 MiB
    src, dst = tmp_path / "warehouse.duckdb", tmp_path / "warehouse.duckdb.building"
    src.write_bytes(original)
    method = clone_file(src, dst)
    assert method in ("reflink", "copy")  # "copy" on ext4 and tmpfs, "reflink" on XFS or btrfs
    assert dst.read_bytes() == original
    with open(dst, "r+b") as building:
        building.seek(2**20)
        building.write(b"\0" * 4096)
    assert src.read_bytes() == original
    assert dst.read_bytes() == original[: 2**20] + b"\0" * 4096 + original[2**20 + 4096 :]
