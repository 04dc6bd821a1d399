"""Read an object's bytes and undo its compression, recognised by magic bytes."""

from __future__ import annotations

import base64
import binascii
import io
import zipfile
import zlib
from dataclasses import dataclass

import fsspec
import orjson
from isal import isal_zlib

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
SNAPPY_FRAMED_MAGIC = b"\xff\x06\x00\x00sNaPpY"
UTF8_BOM = b"\xef\xbb\xbf"  # some editors start a text file with it; it is not part of a record
SALVAGE_STEP = 16 * 1024  # compressed bytes fed at a time when reading a damaged gzip member


class UnreadableObject(Exception):
    """An object whose bytes cannot be turned into records; the message says why."""


@dataclass(frozen=True)
class Content:
    """An object's decompressed content, and why the rest of it (from damaged_at) is unreadable."""

    data: bytes
    damage: str | None = None
    damaged_at: int | None = None  # the offset in the decompressed content where reading stopped


def read_bytes(fs: fsspec.AbstractFileSystem, key: str) -> bytes:
    """The object's bytes exactly as stored."""
    return fs.cat_file(key.removeprefix("s3://"))


def decompress(data: bytes, max_bytes: int) -> Content:
    """The object's content, decompressed according to its first bytes, at most max_bytes of it."""
    if data.startswith(GZIP_MAGIC):
        content = _gunzip(data, max_bytes)
    elif data.startswith(ZIP_MAGIC):
        content = Content(_unzip(data, max_bytes))
    elif data.startswith(SNAPPY_FRAMED_MAGIC):
        raise UnreadableObject(
            "object is Snappy-compressed, which this ingest does not read; "
            "configure the Firehose stream with GZIP or no compression"
        )
    else:
        _check_text(data)
        return Content(data)
    inner = _compression(content.data)
    if inner:
        raise UnreadableObject(
            f"object is compressed twice ({inner} inside the object's own compression); "
            "Firehose compresses once: this object was not written by it as configured"
        )
    _check_text(content.data)
    return content


def _compression(data: bytes) -> str | None:
    """The name of the compression that the bytes start with, if any."""
    for magic, name in ((GZIP_MAGIC, "gzip"), (ZIP_MAGIC, "ZIP"), (SNAPPY_FRAMED_MAGIC, "Snappy")):
        if data.startswith(magic):
            return name
    return None


def _check_text(data: bytes) -> None:
    """Refuse content that is Hadoop-compatible Snappy (which has no magic bytes), not JSON text.

    Hadoop's block framing starts with two big-endian 32-bit lengths, both of which are small:
    a NUL as first and fifth byte. Other bytes that are not JSON are rejected by the splitter,
    piece by piece, so that the records around them still load.
    """
    block, chunk = int.from_bytes(data[0:4], "big"), int.from_bytes(data[4:8], "big")
    if len(data) > 8 and data[0] == 0 and data[4] == 0 and block and chunk:
        raise UnreadableObject(
            "object is binary, not JSON text (a NUL byte at offset 0): probably a compression "
            "this ingest does not read, such as Hadoop-compatible Snappy; "
            "configure the Firehose stream with GZIP or no compression"
        )


def _too_big(max_bytes: int) -> UnreadableObject:
    """The error of an object that expands to more than max_bytes."""
    return UnreadableObject(
        f"object expands to more than {max_bytes:,} bytes, the most one object may hold "
        "(INGEST_MAX_OBJECT_MB); Firehose writes at most 128 MiB of records per object"
    )


def _gunzip(data: bytes, max_bytes: int) -> Content:
    """A gzip object's members decompressed; the readable part of a damaged one, and why."""
    parts: list[bytes] = []
    size = at = 0
    while at < len(data):
        inflater = isal_zlib.decompressobj(wbits=31)
        try:
            part = inflater.decompress(data[at:], max_bytes - size + 1)
        except (isal_zlib.error, OSError, ValueError):
            part, damage = _salvage(data, at, max_bytes - size)
            return Content(
                b"".join([*parts, part]), f"gzip object is damaged: {damage}", size + len(part)
            )
        size += len(part)
        parts.append(part)
        if size > max_bytes:
            raise _too_big(max_bytes)
        if not inflater.eof:
            damage = "gzip object is truncated: it ends before its gzip stream does"
            return Content(b"".join(parts), damage, size)
        at = len(data) - len(inflater.unused_data)
        if inflater.unused_data and not inflater.unused_data.startswith(GZIP_MAGIC):
            damage = (
                f"gzip object has {len(inflater.unused_data):,} bytes of trailing data after its "
                f"gzip stream, from byte {at:,} of the object, that are not gzip"
            )
            return Content(b"".join(parts), damage, size)
    return Content(b"".join(parts))


def _salvage(data: bytes, at: int, max_bytes: int) -> tuple[bytes, str]:
    """What a damaged gzip member at `at` decompresses to before its fault, and the fault."""
    inflater = zlib.decompressobj(wbits=31)
    out: list[bytes] = []
    size = 0
    for pos in range(at, len(data), SALVAGE_STEP):
        before = inflater.copy()
        chunk = data[pos : pos + SALVAGE_STEP]
        try:
            out.append(inflater.decompress(chunk))
        except zlib.error:
            for byte in range(len(chunk)):  # again, one byte at a time, to keep all it can give
                try:
                    out.append(before.decompress(chunk[byte : byte + 1]))
                except zlib.error as exc:
                    return b"".join(out), f"{_reason(exc)} at byte {pos + byte:,} of the object"
        size += len(out[-1])
        if size > max_bytes:
            raise _too_big(max_bytes)
        if inflater.eof:
            break
    return b"".join(out), "its gzip stream ends early"


def _reason(exc: zlib.error) -> str:
    """zlib's complaint in words."""
    text = str(exc).removeprefix("Error -3 while decompressing data: ")
    return {"incorrect data check": "its checksum does not match its content"}.get(text, text)


def _unzip(data: bytes, max_bytes: int) -> bytes:
    """The members of a ZIP object, concatenated in archive order."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts, size = [], 0
            for name in archive.namelist():
                with archive.open(name) as member:
                    parts.append(member.read(max_bytes - size + 1))
                size += len(parts[-1])
                if size > max_bytes:
                    raise _too_big(max_bytes)
            return b"".join(parts)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError) as exc:
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
