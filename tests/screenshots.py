"""Screenshots for the docs: `python tests/screenshots.py` writes docs/screenshots/*.png.

Not a test (tests never rewrite tracked files): run it after changing a screen, look at the
pictures, commit them. It starts two stations on free ports: one with an empty mat for the
picker, PIN pad, summaries and history, one with a member walking for the live screens.
"""

from __future__ import annotations

import sys
import tempfile
import tomllib
from pathlib import Path

import tomli_w

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from station.cli import default_config_path  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, start_station  # noqa: E402
from tests.kiosk_screens import PIN, kiosk_screens, seed_members  # noqa: E402

OUT = REPO / "docs" / "screenshots"
SIZES = [(800, 480), (1920, 1080)]


def config(folder: Path, **sim) -> Path:
    raw = tomllib.loads(default_config_path().read_text())
    raw["source"]["sim"].update(seed=3, **sim)
    path = folder / f"{sim['scenario']}-{sim['start_delay_s']:g}.toml"
    path.write_bytes(tomli_w.dumps(raw).encode())
    return path


def main() -> int:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        folder = Path(tmp)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        db = folder / "empty.db"
        member = seed_members(db)
        still = config(folder, scenario="backward", start_delay_s=3600.0)
        empty = start_station(db, "--config", str(still))
        walk = config(folder, scenario="studio", start_delay_s=6.0)
        try:
            for width, height in SIZES:
                page = browser.new_page(viewport={"width": width, "height": height})
                for screen in kiosk_screens(page, empty.url):
                    page.screenshot(path=str(OUT / f"{screen}-{width}x{height}.png"))
                page.goto(f"{empty.url}/history/{member}")  # still unlocked in this page
                page.wait_for_function("() => Chart.getChart('speed') !== undefined")
                page.screenshot(path=str(OUT / f"history-{width}x{height}.png"))
                page.close()
            kiosk = browser.new_page()
            kiosk.goto(empty.url)
            token = kiosk.evaluate("() => document.querySelector('meta[name=csrf-token]').content")
            kiosk.request.post(f"{empty.url}/api/members/{member}/unlock", data={"pin": PIN},
                               headers={"X-CSRFToken": token})  # fmt: skip
            share = kiosk.request.post(
                f"{empty.url}/api/members/{member}/share", headers={"X-CSRFToken": token}
            ).json()
            phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
            phone.goto(share["url"].replace(share["url"].split("/share/")[0], empty.url))
            phone.wait_for_function("() => Chart.getChart('speed') !== undefined")
            phone.screenshot(path=str(OUT / "share-phone-390x844.png"), full_page=True)
            for width, height in SIZES:
                # a fresh station each time: a guest picks the walk before the simulated
                # member steps on (a walk-up's feet show "?": see README)
                live = start_station(folder / f"walk-{width}.db", "--config", str(walk))
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(live.url)
                token = page.evaluate(
                    "() => document.querySelector('meta[name=csrf-token]').content"
                )
                chosen = page.request.post(f"{live.url}/api/kiosk/select",
                                           data={"exercise": "backward_walk", "member_id": None},
                                           headers={"X-CSRFToken": token})  # fmt: skip
                assert chosen.ok, chosen.text()
                page.wait_for_function(
                    """() => Array.from(window.balanceStation.steps.values())
                        .filter((s) => s.foot).length >= 5""",
                    timeout=90_000,
                )
                page.screenshot(path=str(OUT / f"kiosk-live-{width}x{height}.png"))
                page.close()
                live.stop()
            browser.close()
        finally:
            empty.stop()
    print(f"wrote {len(list(OUT.glob('*.png')))} screenshots in {OUT.relative_to(REPO)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
