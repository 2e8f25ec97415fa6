"""The kiosk in a real headless Chromium, driven by the simulated mat."""

from __future__ import annotations

import itertools
import math

import pytest

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

G = 9.80665


def open_kiosk(browser, url: str, width: int = 800, height: int = 480):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.wait_for_function(
        "() => window.balanceStation && window.balanceStation.connection === 'live'"
    )
    return page


def dot_pixel(page) -> list[int]:
    """The colour the canvas really shows under the drawn CoP dot."""
    return page.evaluate(
        """() => {
        const c = document.getElementById('mat'), [x, y] = window.balanceStation.dotScreen;
        const dpr = window.devicePixelRatio || 1;
        const px = c.getContext('2d').getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1);
        return Array.from(px.data);
    }"""
    )


def mat_scale_px(page) -> float:
    """Pixels per metre of the kiosk's mat drawing (the mat and room for the load rings)."""
    return page.evaluate(
        """() => {
        const c = document.getElementById('mat'), w = c.clientWidth, h = c.clientHeight;
        const m = 10 + Math.max(10, Math.min(40, 0.12 * h));
        const mat = JSON.parse(document.getElementById('mat-data').textContent);
        return Math.min((w - 2 * m) / mat.length_m, (h - 2 * m) / mat.width_m);
    }"""
    )


def dot_and_cop(page) -> tuple[list[float], tuple[float, float]]:
    """Where the dot is drawn (px) and where it should be: the station's last CoP on screen.

    The dot is drawn at the next animation frame after a frame arrives; sway moves the CoP
    well under a pixel in that time.
    """
    dot, x_m, y_m, w, h = page.evaluate(
        """() => { const s = window.balanceStation, c = document.getElementById('mat');
        return [s.dotScreen, s.last.x, s.last.y, c.clientWidth, c.clientHeight]; }"""
    )
    scale = mat_scale_px(page)
    return dot, (w / 2 + x_m * scale, h / 2 - y_m * scale)  # x right, y up (the mat frame)


def test_standing_member_shows_their_mass_and_a_moving_dot(browser, station_factory):
    st = station_factory("--scenario", "stand", "--seed", "11")
    # the built-in simulated member weighs 70 kg
    page = open_kiosk(browser, st.url)
    page.wait_for_function(
        "() => { const s = window.balanceStation;"
        " return s.onMatSince !== null && s.last.t - s.onMatSince > 3; }",
        timeout=30_000,
    )
    # the kiosk shows the station's number as it came (one second's mean), computing none
    shown, sent = page.evaluate(
        "() => [document.querySelector('[data-testid=weight]').innerText,"
        " window.balanceStation.last.kg]"
    )
    assert shown == f"{sent:.1f}"
    assert float(shown) == pytest.approx(70.0, rel=0.02)
    assert page.inner_text("#prompt") == "On the mat"
    r, g, b, _ = dot_pixel(page)
    assert r > 200 and g > 170 and b < 80  # the yellow dot is really drawn there
    # the dot is drawn where the station's CoP is, to the mat's scale, and sway moves it
    dot_1, expected_1 = dot_and_cop(page)
    assert math.dist(dot_1, expected_1) < 1.5
    # sway is random: wait until the station's CoP has wandered more than two pixels from
    # there (however long that takes), then the dot must have followed it
    x_1, y_1 = page.evaluate("() => [window.balanceStation.last.x, window.balanceStation.last.y]")
    page.wait_for_function(
        "([x, y, px]) => { const s = window.balanceStation;"
        " return s.dotScreen !== null && Math.hypot(s.last.x - x, s.last.y - y) > px; }",
        arg=[x_1, y_1, 2.0 / mat_scale_px(page)],
        timeout=60_000,
    )
    dot_2, expected_2 = dot_and_cop(page)
    assert math.dist(dot_2, expected_2) < 1.5
    assert math.dist(dot_1, dot_2) > 1.0  # the drawn dot moved with it
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "kiosk-standing-800x480.png"))
    page.close()


def test_walking_member_crosses_the_mat(browser, station_factory):
    st = station_factory("--scenario", "backward", "--seed", "2")
    page = open_kiosk(browser, st.url, 1920, 1080)
    assert page.inner_text("#prompt") == "Step on the mat to begin"
    # the dot starts near the +x end and reaches the far half: it walks the mat
    page.wait_for_function(
        "() => { const l = window.balanceStation.last; return l && l.x !== null && l.x > 0.5; }",
        timeout=30_000,
    )
    start = page.evaluate("() => window.balanceStation.dotScreen")
    page.wait_for_function(
        "() => { const l = window.balanceStation.last; return l && l.x !== null && l.x < -0.3; }",
        timeout=30_000,
    )
    end = page.evaluate("() => window.balanceStation.dotScreen")
    assert end[0] < start[0] - 500  # x to the left on screen, hundreds of pixels at 1080p
    trail = page.evaluate("() => window.balanceStation.trail.length")
    assert trail > 80  # about two seconds of trail
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "kiosk-walking-1920x1080.png"))
    page.close()


def test_connection_state_recovers_after_a_server_restart(browser, station_factory, tmp_path):
    st = station_factory()  # port 0: the station picks a free port, so nothing can take it first
    page = open_kiosk(browser, st.url)
    assert page.inner_text("#connection") == "Live"
    st.stop()
    page.wait_for_function("() => window.balanceStation.connection === 'reconnecting'")
    assert page.inner_text("#connection") == "Reconnecting…"
    frames_before = page.evaluate("() => window.balanceStation.frames")
    station_factory(port=st.port, db=tmp_path / "station.db")
    page.wait_for_function("() => window.balanceStation.connection === 'live'", timeout=20_000)
    page.wait_for_function(f"() => window.balanceStation.frames > {frames_before} + 40")
    assert page.inner_text("#connection") == "Live"
    page.close()


def test_footprints_and_step_count_follow_the_walk(browser, station_factory):
    st = station_factory("--scenario", "backward", "--seed", "5")
    page = open_kiosk(browser, st.url, 800, 480)
    # a guest picks the backward walk (a walk-up's feet are not guessed: which way would they
    # face?), and the next visit takes that choice
    page.wait_for_selector("#picker:not([hidden])", timeout=60_000)
    page.locator("#member-list").get_by_role("button", name="Guest").click()
    page.get_by_role("button", name="Backward walk, 10 paces").click()
    page.wait_for_function(
        "async () => (await (await fetch('/api/kiosk')).json()).selection === null",
        polling=200,
        timeout=60_000,
    )
    # one visit: two feet step on, four backward steps and a closing step
    page.wait_for_function(
        "() => Array.from(window.balanceStation.steps.values()).filter(s => s.final).length >= 6",
        timeout=30_000,
    )
    steps = page.evaluate("() => Array.from(window.balanceStation.steps.values())")
    assert page.inner_text("[data-testid=steps]") == str(len(steps))
    walking = steps[2:6]
    xs = [s["x"] for s in walking]
    assert xs == sorted(xs, reverse=True)  # backwards along the mat, towards -x
    feet = [s["foot"] for s in walking]
    assert all(a != b for a, b in itertools.pairwise(feet))  # left, right, left...
    # facing +x while walking backwards: the left foot is on the +y side; the two feet that
    # stepped on are told too, once the first step back showed which way the member faces
    for s in steps[:6]:
        assert (s["y"] > 0) == (s["foot"] == "left")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "kiosk-footprints-800x480.png"))
    page.close()


def test_the_kiosk_loads_with_no_failed_request(browser, station_factory):
    """Everything a kiosk asks for is there (its icon too): no 4xx/5xx in a browser's log."""
    st = station_factory("--scenario", "stand")
    page = browser.new_page(viewport={"width": 800, "height": 480})
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
    page.goto(st.url)
    page.wait_for_function("() => (window.balanceStation || {}).connection === 'live'")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => document.querySelector('link[rel=icon]').href").endswith(".svg")
    assert not failed, failed
    page.close()
