"""The kiosk's exercises end to end in headless Chromium, driven by the simulated member.

Screenshots of every screen at 800x480 (the 7" Pi touchscreen) and 1920x1080 go to
test-artifacts/screens/ (the README's come from `python tests/screenshots.py`).
"""

from __future__ import annotations

import tomllib

import pytest
import tomli_w

from station.cli import default_config_path

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "screens"
SIZES = [(800, 480), (1920, 1080)]


def config_file(tmp_path, scenario: str, delay_s: float = 6.0, pause_s: float = 8.0):
    raw = tomllib.loads(default_config_path().read_text())
    raw["source"]["sim"].update(
        scenario=scenario, start_delay_s=delay_s, seed=3, pause_between_visits_s=pause_s
    )
    path = tmp_path / "station.toml"
    path.write_bytes(tomli_w.dumps(raw).encode())
    return path


def shoot(page, name: str) -> None:
    """The same screen at both sizes."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function("() => document.readyState === 'complete'")
        page.screenshot(path=str(SHOTS / f"{name}-{width}x{height}.png"))
    page.set_viewport_size({"width": 800, "height": 480})


def open_kiosk(browser, url):
    page = browser.new_page(viewport={"width": 800, "height": 480})
    page.goto(url)
    page.wait_for_function("() => (window.balanceStation || {}).connection === 'live'")
    return page


def pick(page, title: str) -> None:
    page.wait_for_selector("#picker:not([hidden])")
    page.get_by_role("button", name=title).click()
    # nothing is pressed until the station has the choice (a walk-up's picker shows none)
    pressed = "#exercise-list [aria-pressed=true]"
    page.wait_for_function(
        f"() => (document.querySelector({pressed!r}) || {{}}).textContent === {title!r}"
    )


def with_member(db_path, name: str = "Bert") -> None:
    from station.store import open_database

    db = open_database(db_path)
    db["members"].insert({"name": name, "pin_hash": None})
    db.close()


def passes_as(page, name: str, title: str) -> int:
    """A member doing a multi-pass exercise: they pick their name (no PIN) and the exercise
    before each pass, since a choice holds for one visit; the passes add up to one run.
    Returns how many times the picker showed the "walk kept" note between passes."""
    notes_seen = 0
    while True:
        page.wait_for_function(
            "() => window.balanceStation.summary || (window.balanceStation.member === null"
            " && !document.getElementById('picker').hidden"
            " && document.querySelectorAll('#member-list button').length > 1)",
            timeout=90_000,
        )
        if page.evaluate("() => window.balanceStation.summary !== null"):
            return notes_seen
        kept = page.evaluate("() => Boolean((window.balanceStation.exercise || {}).carry_on)")
        if kept:
            # after a pass the picker tells the member their paces are kept and how to go on
            note = page.inner_text("#carry-on")
            assert note.startswith("Walk kept: ") and f'"{title}" again' in note, note
            notes_seen += 1
        page.locator("#member-list").get_by_role("button", name=name).click()
        page.wait_for_function(f"() => (window.balanceStation.member || {{}}).name === {name!r}")
        pick(page, title)
        if kept:  # and once they have, that their next pass adds up
            page.wait_for_function(
                "() => document.getElementById('carry-on').textContent"
                ".startsWith('Your walk goes on: ')"
            )
        page.wait_for_function(
            "() => (window.balanceStation.exercise || {}).phase !== 'idle'", timeout=60_000
        )
        if page.evaluate("() => window.balanceStation.exercise.paces >= 3"):
            continue
        page.wait_for_function(
            "() => (window.balanceStation.exercise || {}).paces >= 3", timeout=30_000
        )


def test_backward_walk_ten_paces(browser, station_factory, tmp_path):
    with_member(tmp_path / "station.db")
    st = station_factory("--config", str(config_file(tmp_path, "studio")))
    page = open_kiosk(browser, st.url)
    # nothing looks chosen before anyone taps: a walk-up's visit is nobody's choice
    page.wait_for_selector("#picker:not([hidden]) #exercise-list button")
    assert page.locator("#exercise-list [aria-pressed=true]").count() == 0
    assert "Walk backwards, slowly." in page.inner_text("#instructions")  # what to do, still
    pick(page, "Backward walk, 10 paces")
    assert "Walk backwards, slowly." in page.inner_text("#instructions")
    shoot(page, "exercise-picker")
    page.locator("#member-list").get_by_role("button", name="Bert").click()
    page.wait_for_function("() => (window.balanceStation.member || {}).name === 'Bert'")
    page.wait_for_function(
        "() => (window.balanceStation.exercise || {}).paces >= 3", timeout=30_000
    )
    progress = page.inner_text("[data-testid=progress]")
    assert "/ 10 paces" in progress
    page.wait_for_function("() => (window.balanceStation.exercise || {}).cadence_steps_per_min")
    cadence = page.evaluate("() => window.balanceStation.exercise.cadence_steps_per_min")
    assert 75 <= cadence <= 105  # the simulated member walks 90 steps a minute
    shoot(page, "backward-walk-live")
    assert passes_as(page, "Bert", "Backward walk, 10 paces") >= 1  # a 1.83 m mat: two passes
    words = page.inner_text("[data-testid=summary]")
    assert "You walked 10 paces backwards." in words
    summary = page.evaluate("() => window.balanceStation.summary.summary")
    # the simulated member: 0.32 m steps at 90 a minute, 0.48 m/s
    assert summary["step_length_m"] == pytest.approx(0.32, abs=0.04)
    assert summary["speed_m_per_s"] == pytest.approx(0.48, rel=0.15)
    assert f"{summary['speed_m_per_s']:.2f} m/s" in words
    assert "Not a diagnosis." in words
    shoot(page, "backward-walk-summary")
    page.get_by_role("button", name="Done").click()
    page.wait_for_selector("#summary[hidden]", state="attached")
    page.close()


def test_quiet_stance_counts_down_and_asks_to_close_the_eyes(browser, station_factory, tmp_path):
    st = station_factory("--config", str(config_file(tmp_path, "romberg")))
    page = open_kiosk(browser, st.url)
    pick(page, "Quiet stance")
    page.wait_for_function(
        "() => (window.balanceStation.exercise || {}).phase === 'open'", timeout=30_000
    )
    assert page.inner_text("[data-testid=cue]") == "Eyes open. Stand still."
    assert page.inner_text("[data-testid=progress]").endswith(" s")
    shoot(page, "quiet-stance-live")
    page.wait_for_function(
        "() => (window.balanceStation.exercise || {}).phase === 'closed'", timeout=40_000
    )
    assert page.inner_text("[data-testid=cue]") == "Close your eyes. Stand still."
    page.wait_for_function("() => window.balanceStation.summary", timeout=60_000)
    summary = page.evaluate("() => window.balanceStation.summary.summary")
    assert 1.3 < summary["romberg_mean_velocity"] < 2.0  # the member sways 1.6x eyes closed
    assert "times as much" in page.inner_text("[data-testid=summary]")
    # heard as well as seen, sound on by default: start, close the eyes, open them (the end)
    assert page.evaluate("() => window.balanceStation.cues") == ["open", "closed", "done"]
    shoot(page, "quiet-stance-summary")
    page.close()


def test_member_picks_their_name_enters_the_pin_and_sees_their_history(
    browser, station_factory, tmp_path
):
    import json

    from werkzeug.security import generate_password_hash

    from station.store import open_database

    db_path = tmp_path / "station.db"
    db = open_database(db_path)
    ada = db["members"].insert({"name": "Ada", "pin_hash": generate_password_hash("2468")}).last_pk
    db["members"].insert({"name": "Bert", "pin_hash": None})
    for day, speed, length, way in (
        ("2026-10-01", 0.42, 0.27, "backward"),
        ("2026-10-15", 0.47, 0.29, "backward"),
        ("2026-10-20", 0.91, 0.55, "forward"),  # a walk-up's run she saved: it went forwards
        ("2026-11-01", 0.52, 0.31, "backward"),
    ):
        db["exercise_runs"].insert(
            {
                "member_id": ada,
                "exercise": "backward_walk",
                "ended_at": day,
                "session_ids_json": "[]",
                "summary_json": json.dumps(
                    {
                        "summary": {
                            "exercise": "backward_walk",
                            "paces": 10,
                            "speed_m_per_s": speed,
                            "step_length_m": length,
                            "cadence_steps_per_min": 92,
                            "direction": way,
                        }
                    }
                ),
            }
        )
    db.close()
    st = station_factory(
        "--config", str(config_file(tmp_path, "backward", delay_s=600)), db=db_path
    )
    page = open_kiosk(browser, st.url)
    page.wait_for_selector("#picker:not([hidden])")
    page.get_by_role("button", name="Ada").click()
    for digit in "2461":
        page.get_by_role("button", name=digit, exact=True).click()
    page.get_by_role("button", name="OK").click()
    page.wait_for_function("() => document.getElementById('pin-error').textContent !== ''")
    assert page.inner_text("#pin-error") == "Wrong PIN (4 tries left)"
    for digit in "2468":
        page.get_by_role("button", name=digit, exact=True).click()
    page.get_by_role("button", name="OK").click()
    page.wait_for_function("() => (window.balanceStation.member || {}).name === 'Ada'")
    page.get_by_role("button", name="Send to my phone").click()
    page.wait_for_selector("#qr svg")
    assert "Works until" in page.inner_text("#qr")
    shoot(page, "member-picker")
    page.clock.install()  # the history page's idle return, without waiting two minutes
    page.click("#history-link")
    page.wait_for_selector("canvas#speed")
    page.wait_for_function("() => Chart.getChart('speed') !== undefined")
    assert page.evaluate("() => Chart.getChart('speed').data.datasets[0].data") == [
        0.42,
        0.47,
        0.52,
    ]
    assert "0.52 m/s" in page.inner_text("table")
    assert "10 (forwards)" in page.inner_text("table")  # kept, but not charted as backward
    shoot(page, "history")
    # the kiosk is in a public room: left alone, Ada's history goes back to the mat
    page.clock.fast_forward("01:50")
    assert "/history/" in page.url
    page.clock.fast_forward("00:15")
    page.wait_for_selector("#picker:not([hidden])")
    assert page.url.rstrip("/") == st.url.rstrip("/")
    page.close()


def test_head_turns_cue_left_then_right(browser, station_factory, tmp_path):
    with_member(tmp_path / "station.db")
    st = station_factory("--config", str(config_file(tmp_path, "studio")))
    page = open_kiosk(browser, st.url)
    page.wait_for_selector("#member-list button:text-is('Bert')")
    page.locator("#member-list").get_by_role("button", name="Bert").click()
    page.wait_for_function("() => (window.balanceStation.member || {}).name === 'Bert'")
    pick(page, "Backward walk with head turns")
    page.wait_for_function(
        "() => (window.balanceStation.exercise || {}).shoulder === 'left'", timeout=30_000
    )
    assert page.inner_text("[data-testid=cue]") == "Look over your LEFT shoulder"
    shoot(page, "head-turns-live")
    page.wait_for_function(
        "() => (window.balanceStation.exercise || {}).shoulder === 'right'", timeout=40_000
    )
    assert page.inner_text("[data-testid=cue]") == "Look over your RIGHT shoulder"
    passes_as(page, "Bert", "Backward walk with head turns")
    # the summary counts the paces the live screen counted
    shown = page.evaluate("() => window.balanceStation.summary.summary.paces")
    assert f"You walked {shown} paces backwards." in page.inner_text("[data-testid=summary]")
    summary = page.evaluate("() => window.balanceStation.summary.summary")
    for side in ("left", "right"):  # the simulated member's feet are 0.16 m apart
        assert summary[f"{side}_step_width_m"] == pytest.approx(0.16, abs=0.03)
    assert "Step width looking left" in page.inner_text("[data-testid=summary]")
    shoot(page, "head-turns-summary")
    page.close()


def test_warrior_step_back_and_hold(browser, station_factory, tmp_path):
    # as the README shows how to try it: time to pick the exercise before the member steps on
    st = station_factory("--scenario", "warrior", "--start-delay", "6")
    page = open_kiosk(browser, st.url)
    pick(page, "Warrior step-back")
    assert "back mark" in page.inner_text("#instructions")
    page.wait_for_function(
        "() => (window.balanceStation.exercise || {}).phase === 'step_back'", timeout=30_000
    )
    assert page.inner_text("[data-testid=cue]") == "Step one foot back onto the mark"
    page.wait_for_function(
        "() => (window.balanceStation.exercise || {}).phase === 'hold'", timeout=30_000
    )
    assert "back foot" in page.inner_text("[data-testid=progress]")
    shoot(page, "warrior-live")
    page.wait_for_function("() => window.balanceStation.summary", timeout=40_000)
    summary = page.evaluate("() => window.balanceStation.summary.summary")
    assert summary["rear_share"] == pytest.approx(0.40, abs=0.05)  # the simulated member's 40 %
    assert "of your weight was on your back foot" in page.inner_text("[data-testid=summary]")
    shoot(page, "warrior-summary")
    page.close()


def test_staff_log_in_and_add_a_member(browser, station_factory, tmp_path):
    from station.store import open_database
    from web.security import set_staff_password

    db_path = tmp_path / "station.db"
    db = open_database(db_path)
    set_staff_password(db, "studio-staff-2026")
    db.close()
    st = station_factory(
        "--config", str(config_file(tmp_path, "backward", delay_s=600)), db=db_path
    )
    page = browser.new_page(viewport={"width": 800, "height": 480})
    page.goto(f"{st.url}/staff")
    shoot(page, "staff-login")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert page.inner_text("[role=alert]") == "Wrong password."
    page.fill("input[name=password]", "studio-staff-2026")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/members")
    page.fill("form[action='/staff/members'] input[name=name]", "Cleo <i>Ray</i>")
    page.fill("form[action='/staff/members'] input[name=pin]", "4321")
    page.click("form[action='/staff/members'] button[type=submit]")
    page.wait_for_selector("text=Cleo <i>Ray</i>")  # shown as text, never as markup
    assert page.locator("i").count() == 0
    shoot(page, "staff-members")
    # the new member appears on the kiosk, with a PIN pad
    kiosk = open_kiosk(browser, st.url)
    kiosk.wait_for_selector("#picker:not([hidden])")
    kiosk.get_by_role("button", name="Cleo <i>Ray</i>").click()
    kiosk.wait_for_selector("#pinpad:not([hidden])")
    assert kiosk.inner_text("#pin-prompt") == "Cleo <i>Ray</i>: your PIN"
    shoot(kiosk, "pin-pad")
    kiosk.close()
    page.close()
