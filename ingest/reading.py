"""Read an object's bytes and undo its compression, recognised by magic bytes."""

from __future__ import annotations

import base64
import binascii
import io
import zipfile
import zlib

import fsspec
import orjson
from isal import igzip, isal_zlib

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
SNAPPY_FRAMED_MAGIC = b"\xff\x06\x00\x00sNaPpY"
BINARY_PROBE = 64  # bytes looked at to tell binary content from JSON text
UTF8_BOM = b"\xef\xbb\xbf"  # some editors start a text file with it; it is not part of a record


class UnreadableObject(Exception):
    """An object whose bytes cannot be turned into records; the message says why."""


def read_bytes(fs: fsspec.AbstractFileSystem, key: str) -> bytes:
    """The object's bytes exactly as stored."""
    return fs.cat_file(key.removeprefix("s3://"))


def decompress(data: bytes) -> bytes:
    """The object's content, decompressed according to its first bytes."""
    if data.startswith(GZIP_MAGIC):
        try:
            return igzip.decompress(data)
        except (OSError, EOFError, isal_zlib.error) as exc:
            raise UnreadableObject(f"gzip object is corrupt or truncated ({exc})") from exc
    if data.startswith(ZIP_MAGIC):
        return _unzip(data)
    if data.startswith(SNAPPY_FRAMED_MAGIC):
        raise UnreadableObject(
            "object is Snappy-compressed, which this ingest does not read; "
            "configure the Firehose stream with GZIP or no compression"
        )
    head = data[:BINARY_PROBE]
    nul = head.find(b"\x00")
    if nul != -1 and head.removeprefix(UTF8_BOM).lstrip()[:1] not in (b"{", b"["):
        # JSON text holds no NUL byte; Hadoop-compatible Snappy has no magic bytes
        raise UnreadableObject(
            f"object is binary, not JSON text (a NUL byte at offset {nul}): probably a compression "
            "this ingest does not read, such as Hadoop-compatible Snappy; "
            "configure the Firehose stream with GZIP or no compression"
        )
    return data


def _unzip(data: bytes) -> bytes:
    """The members of a ZIP object, concatenated in archive order."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return b"".join(archive.read(name) for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise UnreadableObject(f"ZIP object is corrupt or truncated ({exc})") from exc


def unwrap_error_output(content: bytes) -> bytes | None:
    """The original records inside Firehose error output, or None if this is not error output.

    Firehose writes records it failed to process (under `processing-failed/`,
    `format-conversion-failed/`, ...) as JSON lines with the record in base64 `rawData`.
    A line that cannot be decoded is kept as it is, so that it is rejected downstream.
    """
    head = content[:4096]
    if b'"rawData"' not in head or not (b"rrorCode" in head or b'"attemptsMade"' in head):
        return None
    records = []
    for line in content.splitlines():
        if line.strip():
            records.append(_raw_data(line))
    return b"\n".join(records)


def _raw_data(line: bytes) -> bytes:
    """The decoded rawData of one error-output line, or the line itself if it has none."""
    try:
        wrapper = orjson.loads(line)
        return base64.b64decode(wrapper["rawData"], validate=True).strip()
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, binascii.Error):
        return line
