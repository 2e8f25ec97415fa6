"""Every kiosk screen, brought up in a real page: for the layout test and the screenshot command.

The picker, PIN pad, member links and QR code are reached by tapping, as a member would;
live views and summaries are drawn by the page's own renderers from views of each exercise
(the words come from the station's own wording), so every screen is checked without
waiting for a simulated member to finish each exercise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from werkzeug.security import generate_password_hash

from station.coach import nothing_measured_words, plain_words
from station.core.exercises import SPECS
from station.core.quality import WORDS
from station.core.support import support_words
from station.store import open_database
from web.security import set_staff_password

from .conftest import free_port

WALL = {"supported": True, "time_share": 0.4, "weight_share": 0.15}
SIZES = [(800, 480), (1280, 720), (1920, 1080)]
PIN = "2468"
STAFF_PASSWORD = "studio-staff-1"

LIVE_VIEWS = {
    "backward-walk-live": {
        "exercise": "backward_walk", "title": "Backward walk, 10 paces", "paces": 6, "target": 10,
        "cue": "4 more", "done": False, "cadence_steps_per_min": 88, "lateral_sway_m": 0.012,
        "baseline_lateral_sway_m": 0.011, "member": True,
    },
    "head-turns-live": {
        "exercise": "head_turns", "title": "Backward walk with head turns", "paces": 3,
        "target": 8, "cue": "Look over your RIGHT shoulder", "shoulder": "right", "done": False,
        "cadence_steps_per_min": 84, "lateral_sway_m": 0.021, "baseline_lateral_sway_m": None,
    },
    "warrior-live": {
        "exercise": "warrior", "title": "Warrior step-back", "phase": "hold", "seconds_left": 12,
        "cue": "Hold. Breathe.", "rear_share": 0.41, "done": False,
    },
    "quiet-stance-live": {
        "exercise": "quiet_stance", "title": "Quiet stance", "phase": "closed",
        "seconds_left": 21, "cue": "Close your eyes. Stand still.", "done": False,
    },
}  # fmt: skip

SUMMARIES = {
    "head-turns-summary": {
        "exercise": "head_turns", "paces": 8, "passes": 2, "step_length_m": 0.31,
        "cadence_steps_per_min": 88.0, "speed_m_per_s": 0.45, "time_for_3_m_s": 6.7,
        "left_step_width_m": 0.16, "right_step_width_m": 0.17,
    },
    "quiet-stance-summary": {
        "exercise": "quiet_stance", "romberg_mean_velocity": 1.6,
        "eyes_open": {"mean_velocity_m_per_s": 0.009},
    },
    "warrior-summary": {
        "exercise": "warrior", "held_s": 20.0, "rear_share": 0.41, "sway_velocity_m_per_s": 0.011,
    },
}  # fmt: skip
TITLES = {
    "head_turns": "Backward walk with head turns",
    "quiet_stance": "Quiet stance",
    "warrior": "Warrior step-back",
}


def seed_members(db_path) -> int:
    """Two members (one with a PIN) and three earlier runs; returns the PIN member's id."""
    db = open_database(db_path)
    ada = db["members"].insert({"name": "Ada", "pin_hash": generate_password_hash(PIN)}).last_pk
    db["members"].insert({"name": "Bea Long-Surname", "pin_hash": None})
    set_staff_password(db, STAFF_PASSWORD)
    # the newest run links its stored session: the history's data links are on screen
    session = db["sessions"].insert({"member_id": ada, "status": "complete", "mat_json": "{}"})
    for day, speed, length in (
        ("2026-10-01T09:05:00+00:00", 0.42, 0.27),
        ("2026-10-15T17:40:00+00:00", 0.47, 0.29),
        ("2026-11-01T08:15:00+00:00", 0.52, 0.31),
    ):
        summary = {
            "exercise": "backward_walk", "paces": 10, "speed_m_per_s": speed,
            "step_length_m": length, "cadence_steps_per_min": 92,
        }  # fmt: skip
        db["exercise_runs"].insert(
            {
                "member_id": ada,
                "exercise": "backward_walk",
                "ended_at": day,
                "session_ids_json": f"[{session.last_pk}]" if day.startswith("2026-11") else "[]",
                # the newest run: the longest quality words and a hand on the wall
                "summary_json": json.dumps(
                    {
                        "summary": summary,
                        "support": WALL,
                        "quality": {"mark": "frames_lost", "words": WORDS["frames_lost"]},
                    }
                    if day.startswith("2026-11")
                    else {"summary": summary, "quality": {"mark": "good", "words": "good"}}
                ),
            }
        )
    db.close()
    return ada


def open_kiosk(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => (window.balanceStation || {}).connection === 'live'")
    page.wait_for_selector("#picker:not([hidden])")
    page.wait_for_selector("#member-list button")


def kiosk_screens(page, url: str) -> Iterator[str]:
    """Brings up each kiosk screen in turn (an empty mat); yields its name."""
    open_kiosk(page, url)
    yield "exercise-picker"
    idle = page.evaluate("() => window.balanceStation.exercise")
    kept = {"title": "Backward walk, 10 paces", "paces": 5, "target": 10, "left_s": 60}
    page.evaluate("(v) => window.balanceStation.render.showView(v)", {**idle, "carry_on": kept})
    page.wait_for_selector("#carry-on:not([hidden])")
    yield "walk-kept"  # between a member's passes
    page.evaluate("(v) => window.balanceStation.render.showView(v)", idle)
    page.locator("#member-list").get_by_role("button", name="Ada").click()
    page.wait_for_selector("#pinpad:not([hidden])")
    yield "pin-pad"
    for digit in PIN:
        page.locator("#pinpad").get_by_role("button", name=digit, exact=True).click()
    page.locator("#pinpad").get_by_role("button", name="OK").click()
    page.wait_for_selector("#member-links:not([hidden])")
    page.get_by_role("button", name="Quiet stance").click()
    page.wait_for_selector("#exercise-list [aria-pressed=true]:text-is('Quiet stance')")
    yield "member-picker"
    # each of these tells the station, which sends the kiosk one view: wait for it, so no
    # late view replaces the screens drawn below
    seen = page.evaluate("() => window.balanceStation.viewMessages")
    page.get_by_role("button", name="Send to my phone").click()
    page.wait_for_selector("#qr svg")
    page.wait_for_function(f"() => window.balanceStation.viewMessages > {seen}")
    yield "send-to-phone"
    seen, shown = page.evaluate(
        "() => [window.balanceStation.viewMessages, window.balanceStation.choicesShown]"
    )
    page.get_by_role("button", name="Close").click()  # Ada's choice stands again
    page.wait_for_function(
        f"() => window.balanceStation.viewMessages > {seen} "
        f"&& window.balanceStation.choicesShown > {shown}"
    )
    for name, view in LIVE_VIEWS.items():
        page.evaluate("(v) => window.balanceStation.render.showView(v)", view)
        # the walk with the live "hand on the wall" note, the others without
        page.evaluate("(s) => window.balanceStation.render.showSupport(s)", "walk" in name)
        page.wait_for_selector("#picker", state="hidden")
        yield name
    for name, summary in SUMMARIES.items():
        result = {
            "exercise": summary["exercise"], "title": TITLES[summary["exercise"]],
            "member_id": 1, "summary": summary, "words": plain_words(summary, {}),
            "quality": {"mark": "good", "words": WORDS["good"]},
        }  # fmt: skip
        page.evaluate("(r) => window.balanceStation.render.showSummary(r)", result)
        yield name
    stance = SPECS["quiet_stance"]
    nothing = {
        "exercise": stance.key, "title": stance.title, "member_id": None, "measured": False,
        "finished": False, "words": [nothing_measured_words(stance)], "claim_left_s": 0,
    }  # fmt: skip
    page.evaluate("(r) => window.balanceStation.render.showSummary(r)", nothing)
    yield "nothing-measured"  # stepped off before quiet stance's clock had run
    walk = {
        "exercise": "backward_walk", "paces": 5, "passes": 1, "step_length_m": 0.32,
        "cadence_steps_per_min": 90.0, "speed_m_per_s": 0.48, "time_for_3_m_s": 6.25,
    }  # fmt: skip
    guest = {
        "exercise": "backward_walk", "title": "Backward walk, 10 paces", "member_id": None,
        "summary": walk, "claim_left_s": 120,
        # the longest summary: a hand on the wall, and a mark that asks for something
        "words": plain_words(walk, {}) + support_words(WALL),
        "quality": {"mark": "frames_lost", "words": WORDS["frames_lost"]},
    }  # fmt: skip
    page.evaluate("(r) => window.balanceStation.render.showSummary(r)", guest)
    yield "backward-walk-summary"  # a guest's, with "Save to my history"
    page.get_by_role("button", name="Save to my history").click()
    page.wait_for_selector("#claim-members button")
    yield "claim-name"
    page.locator("#claim-members").get_by_role("button", name="Ada").click()
    page.wait_for_selector("#claim #pinpad:not([hidden])")
    yield "claim-pin"


def start_on_a_free_port(station_factory, config_for_port, db):
    """A station whose public address names its own port: pick a free one, again if taken.

    (Other programs on the machine may take a port between asking and listening.)
    """
    for attempt in range(3):
        port = free_port()
        try:
            return station_factory("--config", str(config_for_port(port)), db=db, port=port)
        except AssertionError as exc:
            if "already in use" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")
