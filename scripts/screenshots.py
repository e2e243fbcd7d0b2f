"""Screenshots of the pages at tablet and desktop sizes, for the README and for looking at changes.

Usage: python scripts/screenshots.py [BASE_URL] [OUT_DIR]   (a server with the demo factory must run)
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/screenshots")
SIZES = {"tablet-landscape": (1280, 800), "tablet-portrait": (800, 1280), "desktop": (1920, 1080)}
# (name, user, path) — the path may be a callable taking the page, for pages found by following links.
PAGES = [
    ("login", None, "/login/"),
    ("home", "maintenance", "/"),
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking", "--disable-component-update",
                                          "--no-first-run"])
        for size_name, (width, height) in SIZES.items():
            for name, user, path in PAGES:
                context = browser.new_context(viewport={"width": width, "height": height},
                                              has_touch=size_name.startswith("tablet"))
                page = context.new_page()
                if user:
                    page.goto(BASE + "/login/")
                    page.fill("input[name=username]", user)
                    page.fill("input[name=password]", user)
                    page.click("button[type=submit]")
                page.goto(BASE + (path(page) if callable(path) else path))
                page.wait_for_load_state("networkidle")
                target = OUT / f"{name}-{size_name}.png"
                page.screenshot(path=str(target))
                print(target)
                context.close()
        browser.close()


if __name__ == "__main__":
    main()
