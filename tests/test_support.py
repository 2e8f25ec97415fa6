"""Hand on the wall: the support detector on simulated members, walking and standing."""

from __future__ import annotations

import numpy as np
import pytest

from hardware.simulator.person import Gait, build_pass
from station.core.support import (
    SupportDetector,
    combined_support,
    detect_support,
    support_report,
    support_words,
)
from station.validation.run import STUDIO_4
from station.validation.wall import _through_mat


def visit(seed: int, **plan):
    gait = Gait(body_mass_kg=70.0, cadence_steps_per_min=80.0)
    timeline = build_pass(gait, np.random.default_rng(seed), mat_length_m=1.83, **plan)
    return _through_mat("test", timeline, STUDIO_4, seed)


def test_a_hand_on_the_wall_during_the_walk_is_found_with_its_share():
    v = visit(1, wall_share=0.2, turn_and_return=True)
    report = support_report(v.t, v.fz)
    assert report["supported"] is True
    assert report["standing_weight_n"] == pytest.approx(70.0 * 9.80665, rel=0.01)
    ((start, end),) = v.walls
    (span,) = report["spans"]
    assert span["t_start_s"] == pytest.approx(start, abs=0.5)
    assert span["t_end_s"] == pytest.approx(end, abs=0.5)
    assert span["weight_share"] == pytest.approx(0.2, abs=0.03)
    assert 0.0 < report["time_share"] < 1.0


@pytest.mark.parametrize("bounce", [0.1, 0.2])
def test_walking_bounce_and_stepping_off_are_not_support(bounce):
    for seed in range(3):
        v = visit(10 + seed, bounce=bounce, turn_and_return=True)
        report = support_report(v.t, v.fz)
        assert report["supported"] is False, report["spans"]
        assert report["observed_s"] > 5.0


def test_a_light_touch_under_the_margin_is_not_support():
    v = visit(20, wall_share=0.04, turn_and_return=True)
    assert support_report(v.t, v.fz)["supported"] is False


def test_without_a_quiet_stand_the_verdict_is_unknown():
    t = np.arange(0.0, 20.0, 1 / 80)
    fz = 700.0 * (1.0 + 0.15 * np.cos(2 * np.pi * 1.5 * t))  # walking all the time
    report = support_report(t, fz)
    assert report["supported"] is None and report["time_share"] is None


def test_streaming_and_batch_agree_and_the_live_events_bracket_the_span():
    v = visit(2, wall_share=0.15, wall_during="stand", stand_after_s=6.0)
    live = SupportDetector()
    events = [(t, e) for t, f in zip(v.t, v.fz, strict=True) if (e := live.update(t, f))]
    assert [e for _, e in events] == ["on", "off"]
    assert live.summary() == support_report(v.t, v.fz)
    assert detect_support(v.t, v.fz).summary() == live.summary()
    on_t = events[0][0]
    ((start, _),) = v.walls
    assert start < on_t < start + 5.0  # confirmed within the averaging and the duration


def test_visits_combine_and_the_note_speaks_plainly():
    a = {"supported": True, "supported_s": 4.0, "observed_s": 10.0, "weight_share": 0.2}
    b = {"supported": False, "supported_s": 0.0, "observed_s": 10.0, "weight_share": None}
    both = combined_support([a, b, None])
    assert both == {"supported": True, "time_share": 0.2, "weight_share": 0.2}
    assert support_words(both) == [
        "Hand on the wall for 20 % of the time it was measured, taking about 20 % of your "
        "weight; the figures above had that help."
    ]
    assert support_words({"supported": False}) == []
    assert combined_support([{"supported": None}]) is None


def whole_visit_lean(seed: int, share: float = 0.15, **plan):
    """A member who leans on the wall from stepping on to stepping off."""
    gait = Gait(body_mass_kg=70.0, cadence_steps_per_min=80.0, hand_on_wall_share=share)
    timeline = build_pass(gait, np.random.default_rng(seed), mat_length_m=1.83, **plan)
    return _through_mat("lean", timeline, STUDIO_4, seed)


def test_a_lean_from_step_on_to_step_off_needs_the_members_weight():
    """A guest's visit cannot be judged (no heavier stand); the member's weight from an
    earlier visit without the wall flags it, live and in the report alike."""
    before = visit(30)
    earlier = support_report(before.t, before.fz)
    assert earlier["supported"] is False
    weight_n = earlier["measured_weight_n"]
    assert weight_n == pytest.approx(70.0 * 9.80665, rel=0.01)

    v = whole_visit_lean(31, turn_and_return=True)
    guest = support_report(v.t, v.fz)
    assert guest["supported"] is not True  # its own quiet stands are leaned on too
    member = support_report(v.t, v.fz, standing_weight_n=weight_n)
    assert member["supported"] is True
    assert member["reference_weight_n"] == round(weight_n, 2)
    assert member["weight_share"] == pytest.approx(0.15, abs=0.03)
    assert member["time_share"] > 0.8
    # what it measured itself is the leaned weight: never learnt as the member's weight
    assert member["measured_weight_n"] < 0.9 * weight_n

    live = SupportDetector(standing_weight_n=weight_n)
    events = [(t, e) for t, f in zip(v.t, v.fz, strict=True) if (e := live.update(t, f))]
    assert events and events[0][1] == "on"
    assert live.summary() == member


def test_the_members_weight_raises_no_false_alarm_without_the_wall():
    before = visit(40)
    weight_n = support_report(before.t, before.fz)["measured_weight_n"]
    for seed in range(41, 45):
        v = visit(seed, bounce=0.2, turn_and_return=True)
        report = support_report(v.t, v.fz, standing_weight_n=weight_n)
        assert report["supported"] is False, report["spans"]


def test_a_stricter_margin_from_the_config_lets_a_lean_pass():
    from station.core.support import SupportConfig

    v = visit(3, wall_share=0.2, turn_and_return=True)
    assert support_report(v.t, v.fz)["supported"] is True
    strict = SupportConfig(margin_share=0.3)
    assert support_report(v.t, v.fz, strict)["supported"] is False
    assert detect_support(v.t, v.fz, strict).summary() == support_report(v.t, v.fz, strict)
