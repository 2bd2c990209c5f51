from datetime import date, datetime, timezone

from assets.raw_load import refresh_window

AVAILABLE = (date(2026, 7, 3), date(2026, 9, 30))


def test_first_extract_backfills_everything_available():
    window = refresh_window(AVAILABLE, None, lookback_days=30)
    assert (window.start, window.end, window.days) == (date(2026, 7, 3), date(2026, 9, 30), 90)


def test_later_extracts_reread_the_lookback():
    window = refresh_window(AVAILABLE, datetime(2026, 9, 30, tzinfo=timezone.utc), lookback_days=30)
    assert (window.start, window.end, window.days) == (date(2026, 9, 1), date(2026, 9, 30), 30)


def test_lookback_longer_than_history_is_clamped():
    window = refresh_window(AVAILABLE, datetime(2026, 9, 30, tzinfo=timezone.utc), lookback_days=365)
    assert window.start == date(2026, 7, 3)


def test_a_refresh_after_a_long_pause_reaches_back_to_the_last_one():
    # Refreshes paused for three weeks: a 7-day lookback alone would never extract Sep 10..22.
    window = refresh_window(AVAILABLE, datetime(2026, 9, 10, 6, tzinfo=timezone.utc), lookback_days=7)
    assert (window.start, window.end) == (date(2026, 9, 9), date(2026, 9, 30))
