"""Screenshots of the pages at tablet and desktop sizes, for the README and for looking at changes.

Usage: python scripts/screenshots.py [BASE_URL] [OUT_DIR]   (a server with the demo factory must run)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/screenshots")
SIZES = {"tablet-landscape": (1280, 800), "tablet-portrait": (800, 1280), "phone": (390, 844),
         "desktop": (1920, 1080)}
# (name, user, path) — the path may be a callable taking the page, for pages found by following links.
PAGES = [
    ("login", None, "/login/"),
    ("desk", "maintenance", "/desk/"),
    ("machines", "operator", "/floor/"),
    ("machine", "operator", lambda page: first_machine(page)),
    ("labels", "maintenance", "/floor/labels/"),
    ("issue", "maintenance", lambda page: first_issue(page)),
]
# Pages shown after something was done on them: (name, user, path, action).
FLOWS = [
    ("machine", "operator", lambda page: first_machine(page), lambda page: photo_of_alarm(page)),
]


def photo_of_alarm(page):
    from tests.images import alarm_screen

    page.get_by_text("Alarm", exact=True).click()
    page.locator("input[type=file]").set_input_files(files=[{
        "name": "alarm-screen.png", "mimeType": "image/png",
        "buffer": alarm_screen(("SV0401 SERVO ALARM: X AXIS V-READY OFF",)),
    }])
    page.locator("[data-alarm-code]").first.wait_for()
    page.wait_for_timeout(800)  # the "seen before" panel settles


def first_issue(page):
    page.goto(BASE + "/")
    return page.locator("a[href^='/issues/']").first.get_attribute("href")


def first_machine(page):
    page.goto(BASE + "/floor/")
    return page.locator("a[href^='/m/']").first.get_attribute("href")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking", "--disable-component-update",
                                          "--no-first-run"])
        for size_name, (width, height) in SIZES.items():
            for name, user, path, *action in PAGES + FLOWS:
                context = browser.new_context(viewport={"width": width, "height": height},
                                              has_touch=size_name != "desktop")
                page = context.new_page()
                if user:
                    page.goto(BASE + "/login/")
                    page.fill("input[name=username]", user)
                    page.fill("input[name=password]", user)
                    page.click("button[type=submit]")
                page.goto(BASE + (path(page) if callable(path) else path))
                page.wait_for_load_state("networkidle")
                if action:
                    action[0](page)
                target = OUT / f"{name}-{size_name}.png"
                page.screenshot(path=str(target))
                print(target)
                context.close()
        browser.close()


if __name__ == "__main__":
    main()
