""""Today" is the portal's day, not the server's."""

from __future__ import annotations

from datetime import UTC, date, datetime

from b24goods.domain.portal_time import portal_today


def test_after_midnight_in_moscow_is_already_the_next_day() -> None:
    late_utc = datetime(2026, 12, 4, 22, 30, tzinfo=UTC)  # 01:30 on the 5th in Moscow
    assert portal_today("Europe/Moscow", late_utc) == date(2026, 12, 5)
    assert portal_today("UTC", late_utc) == date(2026, 12, 4)
    assert portal_today("Asia/Vladivostok", datetime(2026, 12, 4, 14, 5, tzinfo=UTC)) == date(2026, 12, 5)


def test_an_unknown_zone_falls_back_to_moscow() -> None:
    late_utc = datetime(2026, 12, 4, 22, 30, tzinfo=UTC)
    assert portal_today("Mars/Olympus", late_utc) == portal_today(None, late_utc) == date(2026, 12, 5)
