"""Identifiers (ARNs, UUIDs) and epoch-millisecond time helpers of the sample generator."""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
INSTANCE_ID = "8d6f1c2e-4b7a-4e3f-9a1d-2c5b7e9f0a13"
INSTANCE_ARN = f"arn:aws:connect:{REGION}:{ACCOUNT_ID}:instance/{INSTANCE_ID}"
VERSION = "2017-10-01"
STATUS_TYPES = {
    "Available": "ROUTABLE",
    "Break": "CUSTOM",
    "Lunch": "CUSTOM",
    "Training": "CUSTOM",
    "Offline": "OFFLINE",
}
CHANNELS = ("VOICE", "CHAT", "TASK")
QUEUE_CHANNELS = {
    "BasicQueue": ("VOICE",),
    "BillingQueue": ("VOICE",),
    "OutboundQueue": ("VOICE",),
    "ChatQueue": ("CHAT",),
    "TaskQueue": ("TASK",),
}
HEARTBEAT_MS = 120_000

_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)
_NS = uuid.UUID("0b9f6d0e-6f0c-4c55-9a53-3f1d2a7c8e41")
_SECOND = 1000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_UNIX_ORDINAL = date(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------------------- identifiers


def _uuid(rng: random.Random) -> str:
    """A version-4 UUID string drawn from rng (same text as uuid.UUID(int=..., version=4))."""
    n = (rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _stable_id(kind: str, name: str) -> str:
    """A UUID stable for one (kind, name)."""
    return str(uuid.uuid5(_NS, f"{kind}:{name}"))


def agent_arn(agent: str) -> str:
    """The AgentARN of an agent id."""
    return f"{INSTANCE_ARN}/agent/{agent}"


def status_arn(name: str) -> str:
    """The agent-state ARN of a status name (stable per name)."""
    return f"{INSTANCE_ARN}/agent-state/{_stable_id('agent-state', name)}"


def standard_queue_arn(name: str) -> str:
    """The queue ARN of a standard queue name (stable per name)."""
    return f"{INSTANCE_ARN}/queue/{_stable_id('queue', name)}"


def agent_queue(agent: str, channels: Sequence[str] = CHANNELS) -> dict[str, Any]:
    """The agent's own queue (Name null)."""
    return {"ARN": f"{INSTANCE_ARN}/queue/agent/{agent}", "Channels": list(channels), "Name": None}


def _queue(name: str, channels: Sequence[str] | None = None) -> dict[str, Any]:
    """A standard queue with its channels."""
    chans = channels or QUEUE_CHANNELS.get(name, CHANNELS)
    return {"ARN": standard_queue_arn(name), "Channels": list(chans), "Name": name}


# ---------------------------------------------------------------------------- timestamps


@functools.cache
def _day_text(day: int) -> str:
    """`YYYY-MM-DD` of a day number since 1970-01-01 (memoised pure function)."""
    return date.fromordinal(_UNIX_ORDINAL + day).isoformat()


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as `2026-11-02T08:00:00.123Z`."""
    day, rem = divmod(ms, _DAY)
    day_text = _day_text(day)
    hours, rem = divmod(rem, _HOUR)
    minutes, rem = divmod(rem, _MINUTE)
    seconds, millis = divmod(rem, _SECOND)
    return f"{day_text}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def to_ms(at: datetime) -> int:
    """A datetime (naive = UTC) as epoch milliseconds."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(milliseconds=1)


def _day_ms(day: date) -> int:
    """Midnight UTC of a date as epoch milliseconds."""
    return (day.toordinal() - _UNIX_ORDINAL) * _DAY
