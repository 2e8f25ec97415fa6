"""The hand-on-the-wall validation (station/validation/wall.py) in its quick form: the
numbers docs/validation.md quotes come from the same code on more visits."""

from __future__ import annotations

from station.validation.run import STUDIO_4
from station.validation.wall import format_wall, run_wall


def test_a_whole_visit_lean_is_found_for_members_and_nothing_is_found_without_a_wall():
    results = run_wall(STUDIO_4, quick=True)
    support, member = results["support"], results["support"]["member"]
    assert support["detection"] == 1.0 and support["false_alarms"] == 0
    # a guest's lean from stepping on to stepping off cannot be judged; a member's is found
    assert member["lean_found_as_guest"] == 0
    assert member["lean_found_as_member"] == member["leans"] == 20
    # the member's weight costs nothing elsewhere: every episode, no false alarm
    assert member["found"] == member["episodes"] == support["episodes"]
    assert member["false_alarms"] == 0 and member["false_alarms_narrower"][0.06] == 0
    text = format_wall(results)
    assert "a lean from stepping on to stepping off: found 20 of 20 (100.0 %)" in text
