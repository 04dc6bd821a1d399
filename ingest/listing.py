"""List the objects of a Firehose archive, on S3 or in a local folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fsspec
import s3fs

from ingest.config import S3_MAX_ATTEMPTS, S3_RETRY_MODE, S3FS_RETRIES


@dataclass(frozen=True)
class ObjectInfo:
    """One archive object: where it is, its size and a version tag that changes with it."""

    key: str
    size: int
    version: str


def open_filesystem(source: str) -> fsspec.AbstractFileSystem:
    """The filesystem behind a source: s3fs for s3:// URLs, the local disk otherwise."""
    if source.startswith("s3://"):
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        retries = {"mode": S3_RETRY_MODE, "total_max_attempts": S3_MAX_ATTEMPTS}
        fs = s3fs.S3FileSystem(
            endpoint_url=endpoint, skip_instance_cache=True, config_kwargs={"retries": retries}
        )
        fs.retries = S3FS_RETRIES  # a class attribute in s3fs, not a constructor argument
        return fs
    return fsspec.filesystem("file")


def list_objects(fs: fsspec.AbstractFileSystem, source: str) -> Iterator[ObjectInfo]:
    """Every object below the source, in key order, whatever the folder layout."""
    if isinstance(fs, s3fs.S3FileSystem):
        yield from _list_s3(fs, source)
    else:
        yield from _list_local(Path(source))


def _list_s3(fs: s3fs.S3FileSystem, source: str) -> Iterator[ObjectInfo]:
    """Objects below an s3:// prefix, with their ETag as version."""
    found = fs.find(source.removeprefix("s3://"), detail=True)
    for path, info in sorted(found.items()):
        if info.get("type") == "directory" or path.endswith("/"):
            continue
        etag = str(info.get("ETag") or "").strip('"')
        yield ObjectInfo(key=f"s3://{path}", size=int(info["size"]), version=etag)


def _list_local(root: Path) -> Iterator[ObjectInfo]:
    """Files below a local folder, with size and modification time as version."""
    if not root.is_dir():
        raise FileNotFoundError(f"source folder {root} does not exist")
    paths = sorted(
        p
        for p in root.resolve().rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root.resolve()).parts)
    )
    for path in paths:
        stat = path.stat()
        yield ObjectInfo(
            key=str(path), size=stat.st_size, version=f"{stat.st_size}:{stat.st_mtime_ns}"
        )
