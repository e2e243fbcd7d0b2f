"""At the machine, once the photo is read, everything the operator must touch is on the screen without
scrolling, on a tablet either way up and on a phone: the kind of problem, the photo button, the code read,
whether the machine still runs, and Send."""

import os

import pytest

from tests import images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = [(800, 1280), (1280, 800), (390, 844)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def on_screen(page, locator, width, height):
    box = locator.bounding_box()
    assert box, f"{locator} is not shown"
    inside = box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
    assert inside, f"{locator} at {box} is off a {width}x{height} screen"
    # Not hidden under the sticky bar either: the element's middle is what a tap there reaches.
    middle = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hit = locator.evaluate(
        "(el, [x, y]) => { const t = document.elementFromPoint(x, y);"
        " return !!t && (el === t || el.contains(t) || t.contains(el)); }", list(middle))
    assert hit, f"{locator} is covered at {middle}"


@pytest.mark.parametrize("width,height", SIZES, ids=lambda v: str(v))
def test_everything_to_touch_is_on_screen_once_the_photo_is_read(live_server, screen, sign_in, operator, machine,
                                                                  width, height):
    page = screen(width, height, touch=True)
    sign_in(page, operator)
    page.goto(f"{live_server.url}/m/{machine.pk}/")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "alarm-screen.png", "mimeType": "image/png", "buffer": images.alarm_screen()}])
    code = page.locator("[data-alarm-code='SV0401']")
    code.wait_for()
    page.wait_for_timeout(300)  # the panels that follow the code have settled
    if os.environ.get("SCREENSHOTS_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS_DIR"], f"machine-after-photo-{width}x{height}.png"))
    assert page.evaluate("window.scrollY") == 0
    for label in ["Alarm", "Mechanical", "Other"]:
        on_screen(page, page.locator("label").filter(has_text=label).first, width, height)
    on_screen(page, page.locator("label").filter(has_text="Take a photo"), width, height)
    on_screen(page, code, width, height)
    on_screen(page, page.locator("label").filter(has_text="Yes, still running"), width, height)
    on_screen(page, page.locator("label").filter(has_text="No, it stopped"), width, height)
    on_screen(page, page.get_by_role("button", name="Send report"), width, height)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
