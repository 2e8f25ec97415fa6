"""The acceptance test of the measurement core: real data through the full station path."""

from __future__ import annotations

import pytest

from station.validation.run import default_data_dir, format_table, run_validation

DATA = default_data_dir()  # the subset shipped in tests/data/validation, or BALANCE_STATION_DATA


@pytest.fixture(scope="module")
def results():
    return run_validation(DATA)  # all of it: a few seconds


def test_foot_contacts_meet_the_targets(results):
    for row in results["walking"]:
        assert row["f1"] >= 0.98, row
        assert abs(row["time_err_median_ms"]) <= 20, row
        assert row["time_abs_err_p95_ms"] <= 50, row
        assert row["step_length_err_median_cm"] <= 2.0, row
        assert row["step_width_err_median_cm"] <= 2.0, row


def test_live_reports_are_timely(results):
    for row in results["walking"]:
        assert row["delay_p95_ms"] <= 150, row


def test_feet_are_labelled_when_the_exercise_is_known(results):
    gaitpdb = [r for r in results["walking"] if r["dataset"].startswith("gaitpdb")]
    assert all(r["foot_accuracy"] >= 0.85 for r in gaitpdb)


def test_sway_metrics_match_the_published_values(results):
    for row in results["standing"]:
        limit = 1.0 if row["layout"] == "published CoP" else 5.0
        for key in ("area", "velocity", "mean_freq"):
            assert row[f"{key}_max_pct"] <= limit, (row["dataset"], row["layout"], key)


def test_the_table_prints(results):
    text = format_table(results)
    assert "gaitpdb" in text and "BMClab" in text and "PDS" in text and "BDS" in text
