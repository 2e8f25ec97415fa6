"""Every kiosk screen fits 800x480, 1280x720 and 1920x1080; member pages fit a 390 px phone.

Nothing outside the viewport, nothing that scrolls or is cut off, tap targets >= 44 px, kiosk
text >= 16 px. A failure names each element at fault. Screenshots of every case go to
test-artifacts/layout/ (the docs' screenshots come from `python tests/screenshots.py`).
"""

from __future__ import annotations

import tomllib

import pytest
import tomli_w

from station.cli import default_config_path

from .conftest import ARTIFACTS
from .kiosk_screens import (
    PIN,
    SIZES,
    STAFF_PASSWORD,
    kiosk_screens,
    seed_members,
    start_on_a_free_port,
)
from .layout import problems

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SHOTS = ARTIFACTS / "layout"


def empty_mat_config(tmp_path, port: int):
    raw = tomllib.loads(default_config_path().read_text())
    raw["source"]["sim"].update(scenario="backward", start_delay_s=3600.0)
    raw["web"].update(public_url=f"http://127.0.0.2:{port}")
    path = tmp_path / "empty.toml"
    path.write_bytes(tomli_w.dumps(raw).encode())
    return path


@pytest.fixture
def station(station_factory, tmp_path):
    db = tmp_path / "station.db"
    member = seed_members(db)
    st = start_on_a_free_port(station_factory, lambda port: empty_mat_config(tmp_path, port), db)
    return st, member


def test_every_kiosk_screen_fits_each_screen_size(browser, station):
    st, _ = station
    SHOTS.mkdir(parents=True, exist_ok=True)
    found: list[str] = []
    checked = 0
    for width, height in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        for screen in kiosk_screens(page, st.url):
            page.screenshot(path=str(SHOTS / f"{screen}-{width}x{height}.png"))
            found += [f"{screen} at {width}x{height}: {p}" for p in problems(page, kiosk=True)]
            checked += 1
        context.close()
    print(f"\nlayout: {checked} kiosk screens x sizes checked")
    # picker, walk kept, PIN, member, QR, 4 live, 4 summaries, nothing measured, claim x2
    assert checked == 16 * len(SIZES)
    assert not found, "\n".join(found)


def test_member_pages_fit_a_phone(browser, station):
    st, member = station
    # the history page, opened on the kiosk's address after the PIN, at a phone's width
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(st.url)
    token = page.evaluate("() => document.querySelector('meta[name=csrf-token]').content")
    headers = {"X-CSRFToken": token}
    r = page.request.post(f"{st.url}/api/members/{member}/unlock", data={"pin": PIN},
                          headers=headers)  # fmt: skip
    assert r.ok
    share = page.request.post(f"{st.url}/api/members/{member}/share", headers=headers).json()
    page.goto(f"{st.url}/history/{member}")
    page.wait_for_function("() => Chart.getChart('speed') !== undefined")
    history_width = page.evaluate("() => document.documentElement.scrollWidth")
    page.screenshot(path=str(SHOTS / "history-390x844.png"), full_page=True)
    found = [f"history: {p}" for p in problems(page, kiosk=False)]
    context.close()

    # the share link, from another phone on the studio network (127.0.0.2)
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    phone.goto(share["url"])
    phone.wait_for_function("() => Chart.getChart('speed') !== undefined")
    share_width = phone.evaluate("() => document.documentElement.scrollWidth")
    phone.screenshot(path=str(SHOTS / "share-390x844.png"), full_page=True)
    found += [f"share: {p}" for p in problems(phone, kiosk=False)]
    text = phone.inner_text("main")
    # times in words, titles, the link's end, no code names or raw ISO times
    assert "Backward walk, 10 paces" in text and "backward_walk" not in text
    assert "Sun 1 Nov" in text and "T08:15" not in text
    assert f"works until {share['until']}" in text
    # the speed axis starts at zero, with the usual range as a band
    assert phone.evaluate("() => Chart.getChart('speed').scales.y.min") == 0
    # each chart is readable on the phone: nearly the page's width and a hand's height
    sizes = phone.evaluate(
        "() => ['speed', 'step'].map((id) => [Chart.getChart(id).width, Chart.getChart(id).height])"
    )
    print(f"\nphone chart sizes (px): {sizes}")
    assert all(w >= 300 and h >= 180 for w, h in sizes), sizes
    print(f"\npage widths at 390 px: history {history_width} px, share {share_width} px")
    assert history_width <= PHONE["width"] and share_width <= PHONE["width"]
    assert not found, "\n".join(found)


def test_history_on_the_kiosk_and_the_staff_list_keep_words_whole(browser, station):
    """The pages with tables: the member's history on the 7" kiosk, the staff's member list
    on the kiosk and on a phone. Every word whole, every link and box a finger's size."""
    st, member = station
    found: list[str] = []
    kiosk = browser.new_context(viewport={"width": 800, "height": 480}).new_page()
    kiosk.goto(st.url)
    token = kiosk.evaluate("() => document.querySelector('meta[name=csrf-token]').content")
    r = kiosk.request.post(f"{st.url}/api/members/{member}/unlock", data={"pin": PIN},
                           headers={"X-CSRFToken": token})  # fmt: skip
    assert r.ok
    kiosk.goto(f"{st.url}/history/{member}")
    kiosk.wait_for_function("() => Chart.getChart('speed') !== undefined")
    assert kiosk.get_by_role("link", name="raw recording").count() == 1
    kiosk.screenshot(path=str(SHOTS / "history-800x480.png"), full_page=True)
    found += [f"history at 800x480: {p}" for p in problems(kiosk, kiosk=False)]
    for size in ({"width": 800, "height": 480}, PHONE):
        page = browser.new_context(viewport=size).new_page()
        page.goto(f"{st.url}/staff")
        page.fill("input[name=password]", STAFF_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_selector("text=Add a member")
        name = f"staff-members-{size['width']}x{size['height']}"
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        found += [f"{name}: {p}" for p in problems(page, kiosk=False)]
    assert not found, "\n".join(found)
