"""List the objects of a Firehose archive, on S3 or in a local folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import fsspec

from ingest.config import S3FS_RETRIES, s3_filesystem_options

if TYPE_CHECKING:
    import s3fs


@dataclass(frozen=True)
class ObjectInfo:
    """One archive object: where it is, its size, a version tag that changes with it.

    `refused` says why the object is not to be read (a link to a file outside the source).
    """

    key: str
    size: int
    version: str
    refused: str | None = None


def open_filesystem(source: str) -> fsspec.AbstractFileSystem:
    """The filesystem behind a source: s3fs for s3:// URLs, the local disk otherwise."""
    if source.startswith("s3://"):
        import s3fs  # imported for S3 sources only: it takes a second or two to import

        fs = s3fs.S3FileSystem(**s3_filesystem_options())
        fs.retries = S3FS_RETRIES  # a class attribute in s3fs, not a constructor argument
        return fs
    return fsspec.filesystem("file")


def list_objects(fs: fsspec.AbstractFileSystem, source: str) -> Iterator[ObjectInfo]:
    """Every object below the source, in key order, whatever the folder layout."""
    if source.startswith("s3://"):
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
    """Files below a local folder, with size and modification time as version.

    Names starting with a dot are not part of the archive. A symbolic link to a file outside the
    folder is listed as refused (its target is never read); links to folders are not followed.
    """
    if root.is_file():
        raise NotADirectoryError(f"source {root} is a file, not a folder of Firehose objects")
    if not root.is_dir():
        raise FileNotFoundError(f"source folder {root} does not exist")
    top = root.resolve()
    paths = []
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        paths += [Path(folder, f) for f in files if not f.startswith(".")]
    for path in sorted(paths):
        if path.is_symlink() and not path.resolve().is_relative_to(top):
            stat = path.lstat()
            refused = "symbolic link to a file outside the source folder: not followed, not read"
            yield ObjectInfo(str(path), 0, f"link:{stat.st_mtime_ns}", refused)
        elif path.is_file():
            stat = path.stat()
            yield ObjectInfo(str(path), stat.st_size, f"{stat.st_size}:{stat.st_mtime_ns}")
