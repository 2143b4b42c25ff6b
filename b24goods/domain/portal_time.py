"""The portal's calendar: what "today" is for the people who use it, not for the server.

Functions run in UTC; a Moscow manager who applies an agreement at 01:30 means that day, not the UTC one.
The time zone is a per-portal setting (``timezone``, an IANA name, default ``Europe/Moscow``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Europe/Moscow"


def zone(name: str | None) -> ZoneInfo:
    """The named zone; an unknown name falls back to the default rather than failing a robot."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def portal_today(timezone: str | None, now: datetime | None = None) -> date:
    """Today's date in the portal's time zone (``now`` for tests; an aware datetime)."""
    return (now or datetime.now(UTC)).astimezone(zone(timezone)).date()
