"""Hand on the wall and the quality mark end to end: the station process, its store and the
kiosk in headless Chromium, with the simulated member leaning on the wall during a walk."""

from __future__ import annotations

import json

import pytest

from station.store import open_database

from .test_kiosk_exercises import config_file, open_kiosk, pick

pytestmark = pytest.mark.browser


def test_a_walk_with_a_hand_on_the_wall_is_flagged_live_stored_and_summarised(
    browser, station_factory, tmp_path
):
    # the "wall" scenario's first visit: a backward walk with 20 % of the weight on the wall
    st = station_factory("--config", str(config_file(tmp_path, "wall")), "--scenario", "wall")
    page = open_kiosk(browser, st.url)
    pick(page, "Backward walk, 10 paces")  # as a guest: the run ends with the visit
    page.wait_for_function("() => window.balanceStation.supported === true", timeout=60_000)
    assert page.is_visible("[data-testid=wall]")
    # read the summary as it arrives: the scenario's next member steps on soon after
    result = page.wait_for_function(
        "() => window.balanceStation.summary", timeout=60_000
    ).json_value()
    words = "\n".join(result["words"])
    assert "Hand on the wall for" in words and "of your weight" in words
    assert result["quality"] == {"mark": "good", "words": "good"}
    assert result["support"]["supported"] is True
    assert result["support"]["weight_share"] == pytest.approx(0.2, abs=0.04)
    shown = page.evaluate(
        "() => [document.querySelector('[data-testid=summary]').innerText,"
        " document.querySelector('[data-testid=quality]').innerText]"
    )
    assert "Hand on the wall for" in shown[0] and shown[1] == "Data quality: good"

    page.close()
    assert st.stop() == 0  # the store writer has written every session when the station ends
    db = open_database(st.db)
    (row,) = db.query(
        "select report_json from summaries where session_id = ?", [result["session_keys"][0]]
    )
    report = json.loads(row["report_json"])
    db.close()
    assert report["support"]["supported"] is True
    assert 0.1 < report["support"]["time_share"] < 0.9  # the walk, not the stands around it
    assert report["quality"]["mark"] == "good"
    assert report["quality"]["noise_n"] < 1.0
