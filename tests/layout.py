"""Layout checks run in the page: what sticks out, what scrolls, what is too small to tap or read.

Shared by the layout test and the screenshot command. Each problem names the element (tag,
id, classes, text) so a failing assertion says what to fix.
"""

from __future__ import annotations

from pathlib import Path

_SOURCE = (Path(__file__).parent / "layout.js").read_text(encoding="utf-8")
# the function itself, without the file's leading comment (evaluate wants a function)
PROBLEMS_JS = _SOURCE[_SOURCE.index("({") :]


def problems(page, *, kiosk: bool) -> list[str]:
    """Kiosk screens: nothing outside the viewport, nothing scrolls, text >= 16 px; member
    pages: nothing sideways. Both: tap targets >= 44 px."""
    return page.evaluate(PROBLEMS_JS, {"minTap": 44, "minText": 16, "checkText": kiosk})
