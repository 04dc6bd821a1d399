"""Write to a private clone of the warehouse under a lock, then swap it in atomically.

DuckDB lets one process write a file, and a writer cannot open a file that readers hold.
So every write (ingest, dbt) goes to `<warehouse>.building`, which replaces the warehouse
with one atomic rename when it is complete: analysts' open connections keep the old file,
new ones get the new one, and nobody ever sees half a night. A crash leaves the warehouse
as it was; the next run starts again from it.

The clone shares the warehouse's blocks where the filesystem can (a reflink on XFS, btrfs,
bcachefs, ZFS 2.2, ...): it costs the same whatever the warehouse's size, and only the blocks
a night writes take new space. Elsewhere (ext4, tmpfs) the kernel copies the file.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

# Linux's ioctl that makes dst share src's blocks (fcntl.FICLONE from Python 3.12 on).
FICLONE = 0x40049409


class WarehouseBusy(Exception):
    """Another run holds the warehouse's lock."""


@contextmanager
def run_lock(warehouse: Path) -> Iterator[None]:
    """Hold the warehouse's run lock, or raise WarehouseBusy naming who holds it."""
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "an unknown process"
            raise WarehouseBusy(
                f"{warehouse} is being written by {holder}; wait for that run to finish "
                f"(or stop it: a stopped run leaves the warehouse as it was) and run again"
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, started {started}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)


def building_path(warehouse: Path) -> Path:
    """Where the next version of the warehouse is built."""
    return warehouse.with_name(plain_name(warehouse) + ".building")


def plain_name(warehouse: Path) -> str:
    """The warehouse's file name, or one made of ASCII letters, digits and `_` if it is not.

    dbt-duckdb names the database after the file (up to its first dot) and pastes that name
    into SQL unquoted, so dbt must work on a file whose name holds no quote, semicolon or space.
    """
    stem, dot, rest = warehouse.name.partition(".")
    plain = re.sub(r"\W", "_", stem, flags=re.ASCII)
    if plain == stem:
        return warehouse.name
    digest = hashlib.md5(warehouse.name.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{plain}_{digest}{dot}{rest}"


def start_building(warehouse: Path) -> Path:
    """A fresh private clone of the warehouse (or no file, for a first run)."""
    building = building_path(warehouse)
    for leftover in (building, building.with_name(building.name + ".wal")):
        leftover.unlink(missing_ok=True)
    if warehouse.exists():
        _check_no_writer(warehouse)
        clone_file(warehouse, building)
    return building


def clone_file(src: Path, dst: Path) -> str:
    """Make dst a copy of src sharing its blocks ("reflink") where the filesystem can, else a
    plain copy ("copy")."""
    with open(src, "rb") as source, open(dst, "wb") as target:
        try:
            fcntl.ioctl(target.fileno(), FICLONE, source.fileno())
            return "reflink"
        except OSError as exc:
            if exc.errno not in _NO_REFLINK:
                raise
    shutil.copyfile(src, dst)  # the kernel copies (sendfile), nothing passes through Python
    return "copy"


# What FICLONE says when the filesystem cannot share blocks (or the files are on two of them).
_NO_REFLINK = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.EXDEV, errno.ENOSYS, errno.EPERM}


def _check_no_writer(warehouse: Path) -> None:
    """Raise WarehouseBusy if another process has the warehouse open for writing."""
    try:
        duckdb.connect(str(warehouse), read_only=True).close()
    except duckdb.IOException as exc:
        raise WarehouseBusy(
            f"{warehouse} is open for writing by another process ({exc}); close that "
            "connection (analysts: connect with read_only=True) and run again"
        ) from None


def publish(building: Path, warehouse: Path) -> None:
    """Checkpoint the built copy and make it the warehouse in one atomic rename."""
    with duckdb.connect(str(building)) as con:
        con.execute("checkpoint")
    os.replace(building, warehouse)


def discard(building: Path) -> None:
    """Throw away a copy that must not be published."""
    for path in (building, building.with_name(building.name + ".wal")):
        path.unlink(missing_ok=True)
