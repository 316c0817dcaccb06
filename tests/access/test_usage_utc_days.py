"""Usage by day counts UTC days, as months and invoices do, whatever time zone the database runs in."""

from datetime import UTC, datetime

from sqlalchemy import text

from zoetrope.access.models import UsageEvent
from zoetrope.access.usage import usage
from zoetrope.db import transaction


def test_usage_by_day_is_by_utc_day_in_any_database_time_zone(engine):
    with transaction(engine) as s:
        for hour in (1, 23):  # both on 1 June in UTC; 2 June and 1 June in Kiritimati (UTC+14)...
            s.add(UsageEvent(account_id="acct_a", kind="generation", seconds=4, credits=4,
                             created_at=datetime(2026, 6, 1, hour, tzinfo=UTC)))  # fmt: skip
    for zone in ("UTC", "Pacific/Kiritimati", "America/Los_Angeles"):  # ...and 31 May, 1 June in LA
        with transaction(engine) as s:
            if engine.dialect.name == "postgresql":
                s.execute(text(f"SET TIME ZONE '{zone}'"))  # as a server configured in its own zone
            rows = usage(s, account_id="acct_a", group_by="day")
        assert [(r.group, r.generations, r.credits) for r in rows] == [("2026-06-01", 2, 8)], zone


def test_the_default_month_is_the_utc_month_credits_are_granted_in(monkeypatch):
    import time

    from zoetrope.access import usage as usage_module

    # 3 a.m. on 1 January in UTC, still 31 December on a server whose clock is set to Los Angeles.
    monkeypatch.setattr(usage_module, "utcnow", lambda: datetime(2026, 1, 1, 3, tzinfo=UTC))
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        assert usage_module.checked_month(None) == "2026-01"
        assert usage_module.checked_month("2025-6") == "2025-06"
    finally:
        monkeypatch.undo()
        time.tzset()
