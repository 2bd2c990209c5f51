from datetime import UTC, date, datetime

from assets.refresh import refresh_window

AVAILABLE = (date(2026, 7, 3), date(2026, 9, 30))


def test_first_extract_backfills_everything_available():
    window = refresh_window(AVAILABLE, None, lookback_days=30)
    assert (window.start, window.end, window.days) == (date(2026, 7, 3), date(2026, 9, 30), 90)


def test_later_extracts_reread_the_lookback():
    window = refresh_window(AVAILABLE, datetime(2026, 9, 30, tzinfo=UTC), lookback_days=30)
    assert (window.start, window.end, window.days) == (date(2026, 9, 1), date(2026, 9, 30), 30)


def test_lookback_longer_than_history_is_clamped():
    window = refresh_window(AVAILABLE, datetime(2026, 9, 30, tzinfo=UTC), lookback_days=365)
    assert window.start == date(2026, 7, 3)


def test_a_refresh_after_a_long_pause_reaches_back_to_the_last_one():
    # Refreshes paused for three weeks: a 7-day lookback alone would never extract Sep 10..22.
    window = refresh_window(AVAILABLE, datetime(2026, 9, 10, 6, tzinfo=UTC), lookback_days=7)
    assert (window.start, window.end) == (date(2026, 9, 9), date(2026, 9, 30))


def test_the_lookback_joins_other_op_config_instead_of_replacing_it():
    from orchestration.definitions import defs
    from orchestration.refresh import job_run_config, lookback_ops

    job = defs.resolve_job_def("rebuild_marts")
    assert lookback_ops(job) == ["dbt_models"]  # read from the definitions: dbt's config has lookback_days
    config = job_run_config(job, {"ops": {"dbt_models": {"config": {"full_refresh": True}}}}, 7)
    assert config["ops"]["dbt_models"]["config"] == {"full_refresh": True, "lookback_days": 7}
    assert lookback_ops(defs.resolve_job_def("refresh_tickets_and_marts")) == ["dbt_models", "extract_tickets"]
