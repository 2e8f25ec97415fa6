"""A studio day through the real station process, simulator, coach, store and Chromium.

Staff add two members; Ada picks herself and the backward walk, walks and steps off; the
next visitor chooses nothing and is stored as a guest; Bea claims that guest run from its
summary; Ada sends her history to her phone, which opens it from the studio network
(127.0.0.2: any address but 127.0.0.1 and ::1 is the network) at 390x844; the link expires.
The database must hold exactly the right rows under each member.
"""

from __future__ import annotations

import json
import tomllib

import pytest
import tomli_w

from station.cli import default_config_path
from station.store import open_database
from web.security import set_staff_password

from .conftest import ARTIFACTS
from .kiosk_screens import start_on_a_free_port

pytestmark = pytest.mark.browser

STAFF = "studio-staff-2026"
PHONE = {"width": 390, "height": 844}
PAUSE_S = 15.0  # between visits (the default studio scenario: 25 s)
SHARE_S = 20.0


def studio_config(tmp_path, port: int):
    raw = tomllib.loads(default_config_path().read_text())
    raw["source"]["sim"].update(
        scenario="studio", seed=3, start_delay_s=25.0, pause_between_visits_s=PAUSE_S
    )
    raw["web"].update(host="0.0.0.0", public_url=f"http://127.0.0.2:{port}", share_link_s=SHARE_S)
    path = tmp_path / "studio.toml"
    path.write_bytes(tomli_w.dumps(raw).encode())
    return path


def enter_pin(page, pin: str) -> None:
    page.wait_for_selector("#pinpad:not([hidden])")
    for digit in pin:
        page.locator("#pinpad").get_by_role("button", name=digit, exact=True).click()
    page.locator("#pinpad").get_by_role("button", name="OK").click()


def unlock(page, name: str, pin: str) -> None:
    page.locator("#member-list").get_by_role("button", name=name).click()
    enter_pin(page, pin)
    page.wait_for_function(f"() => (window.balanceStation.member || {{}}).name === {name!r}")


def test_a_studio_day(browser, station_factory, tmp_path):
    db_path = tmp_path / "station.db"
    db = open_database(db_path)
    set_staff_password(db, STAFF)
    db.close()
    st = start_on_a_free_port(station_factory, lambda port: studio_config(tmp_path, port), db_path)
    port = st.port

    # staff add two members with PINs on the staff page
    staff = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    staff.goto(f"{st.url}/staff")
    staff.fill("input[name=password]", STAFF)
    staff.click("button[type=submit]")
    staff.wait_for_url("**/staff/members")
    for name, pin in (("Ada", "1357"), ("Bea", "2468")):
        staff.fill("form[action='/staff/members'] input[name=name]", name)
        staff.fill("form[action='/staff/members'] input[name=pin]", pin)
        staff.click("form[action='/staff/members'] button[type=submit]")
        staff.wait_for_selector(f"td:text-is('{name}')")
    staff.context.close()
    db = open_database(db_path)
    ids = {r["name"]: r["id"] for r in db.query("select id, name from members")}
    db.close()

    # Ada picks herself and the backward walk before the first visit
    kiosk = browser.new_context(viewport={"width": 800, "height": 480}).new_page()
    kiosk.goto(st.url)
    kiosk.wait_for_function("() => (window.balanceStation || {}).connection === 'live'")
    kiosk.wait_for_selector("#picker:not([hidden])")
    unlock(kiosk, "Ada", "1357")
    kiosk.get_by_role("button", name="Backward walk, 10 paces").click()
    state = kiosk.evaluate("() => fetch('/api/kiosk').then((r) => r.json())")
    assert state["selection"] == {"member_id": ids["Ada"], "exercise": "backward_walk"}
    assert state["view"]["phase"] == "idle", "the first visit began before Ada could choose"

    # she walks (the live screen counts her paces) and steps off
    kiosk.wait_for_function(
        "() => (window.balanceStation.exercise || {}).member === true", timeout=60_000
    )
    kiosk.wait_for_function("() => window.balanceStation.member === null", timeout=60_000)
    kiosk.wait_for_selector("#picker:not([hidden])")
    assert kiosk.evaluate("() => window.balanceStation.summary") is None  # 10 paces not done
    # her data is locked again on this kiosk, and the next visit is nobody's choice
    locked = kiosk.evaluate(f"() => fetch('/history/{ids['Ada']}').then((r) => r.status)")
    assert locked == 403
    state = kiosk.evaluate("() => fetch('/api/kiosk').then((r) => r.json())")
    assert state["selection"] is None
    names = kiosk.locator("#member-list [aria-pressed=true]").all_inner_texts()
    assert names == ["Guest"]

    # the next visitor chooses nothing: a guest visit, with "Save to my history" after it
    kiosk.wait_for_function(  # a guest's summary: the only kind that can be claimed
        "() => { const s = window.balanceStation.summary; return s && s.claim_left_s > 0; }",
        timeout=90_000,
    )
    assert "member_id" not in kiosk.evaluate("() => window.balanceStation.summary")
    kiosk.get_by_role("button", name="Save to my history").click()
    kiosk.locator("#claim-members").get_by_role("button", name="Bea").click()
    enter_pin(kiosk, "2468")
    kiosk.wait_for_function(
        "() => document.getElementById('claim-result').textContent.includes('Bea')"
    )
    # nobody can claim it a second time
    again = kiosk.evaluate(
        f"""() => fetch('/api/members/{ids["Ada"]}/claim', {{method: 'POST',
            headers: {{'Content-Type': 'application/json', 'X-CSRFToken':
            document.querySelector('meta[name=csrf-token]').content}},
            body: JSON.stringify({{pin: '1357'}})}}).then((r) => r.status)"""
    )
    assert again == 409

    # Done: the picker is there at once and stays until someone steps on
    kiosk.get_by_role("button", name="Done").click()
    kiosk.wait_for_selector("#picker:not([hidden])")
    done_to_picker_ms = kiosk.evaluate(
        "() => window.balanceStation.pickerShownAt - window.balanceStation.doneAt"
    )
    assert 0 <= done_to_picker_ms < 500

    # Ada sends her history to her phone, then leaves the kiosk to the next person
    unlock(kiosk, "Ada", "1357")
    kiosk.get_by_role("button", name="Send to my phone").click()
    kiosk.wait_for_selector("#qr svg")
    share_url = kiosk.evaluate("() => window.balanceStation.shareUrl")
    assert share_url.startswith(f"http://127.0.0.2:{port}/share/")
    assert "Works until" in kiosk.inner_text("#qr")
    kiosk.get_by_role("button", name="Close").click()
    kiosk.locator("#member-list").get_by_role("button", name="Guest").click()
    kiosk.wait_for_function("() => window.balanceStation.member === null")

    # her phone, on the studio network
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    response = phone.goto(share_url)
    assert response.status == 200
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    text = phone.inner_text("main")
    assert "Ada" in text and "Backward walk, 10 paces" in text
    assert "backward_walk" not in text and "Bea" not in text
    assert "until" in text
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "studio-day-share-390x844.png"), full_page=True)

    # the picker stayed up until the next visitor stepped on
    kiosk.wait_for_function(
        "() => window.balanceStation.pickerHiddenAt > window.balanceStation.pickerShownAt",
        timeout=60_000,
    )
    on_mat_n = kiosk.evaluate("() => window.balanceStation.pickerHiddenFz")
    assert on_mat_n > 100, "the picker went away with nobody on the mat"
    picker_stayed_s = kiosk.evaluate(
        "() => (window.balanceStation.pickerHiddenAt - window.balanceStation.pickerShownAt) / 1000"
    )

    # the link expires: the station's own clock, no test hook; waited for, not slept
    phone.wait_for_function(  # asked once a second (a synchronous request: a plain answer)
        """(url) => { const r = new XMLHttpRequest(); r.open("GET", url, false); r.send();
                      return r.status === 404; }""",
        arg=share_url,
        timeout=(SHARE_S + 30) * 1000,
        polling=1000,
    )
    assert phone.goto(share_url).status == 404
    phone.context.close()
    kiosk.context.close()
    assert st.stop() == 0

    db = open_database(db_path)
    sessions = {
        r["id"]: r["member_id"] for r in db.query("select id, member_id from sessions order by id")
    }
    runs = list(db.query("select member_id, exercise, session_ids_json from exercise_runs"))
    db.close()
    print(
        f"\nDone -> picker {done_to_picker_ms:.0f} ms; picker stayed {picker_stayed_s:.1f} s; "
        f"share URL {share_url.split('/share/')[0]}/share/..."
    )
    assert sessions[1] == ids["Ada"], sessions
    assert sessions[2] == ids["Bea"], sessions  # claimed
    assert all(m is None for sid, m in sessions.items() if sid > 2), sessions
    by_member = {}
    for r in runs:
        by_member.setdefault(r["member_id"], []).append(json.loads(r["session_ids_json"]))
    assert by_member[ids["Ada"]] == [[1]]
    assert by_member[ids["Bea"]] == [[2]]
    assert all(sids[0] > 2 for sids in by_member.get(None, []))
