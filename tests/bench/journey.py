"""The operator's journey at the machine, timed in a real browser (`make bench-journey`, or
`python -m tests.bench.journey [--runs N] [--up-mbit X] [--down-mbit X] [--latency-ms N]`).

Starts the README's production recipe as tests/production runs it (gunicorn, db_worker; DEBUG off) on a
PostgreSQL database of its own (`logbook_journey`, made fresh and dropped afterwards), seeded with the demo
factory. Debian's Chromium, driven by Playwright, is a landscape tablet with touch on shop-floor Wi-Fi
(by default 4 Mbit/s up, 20 Mbit/s down, 40 ms latency). The tablet is signed in already, as it is on the
floor. Each run is the journey from the QR label to a sent report:

  open the machine's page (the QR label's address)       no tap in the app
  tap "Take a photo", the camera gives a 12 MP photo      tap 1
  the code is read into the form, "Alarm" picked          (the app)
  tap "No, it stopped"                                    tap 2
  tap "Send report", the confirmation shows               tap 3

and prints the taps, the seconds of each step and of the whole journey (median and worst over the runs),
and the bytes of the photo before and after the tablet scaled it down. The photo is one of the corpus's
held-out tablet photos (tests/ocr_corpus.py), 4032x3024 pixels, whose code the reading finds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from tests.production.recipe import Production, RecipeError

CHROMIUM = "/usr/bin/chromium"


def _photo() -> tuple[bytes, str]:
    """A camera-size photo of an alarm screen whose code the pipeline reads, and that code."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "logbook_site.settings")
    import django

    django.setup()
    from floor.ocr import OcrError, read_image
    from tests.bench.ocr import scaled_like_the_tablet
    from tests.ocr_corpus import PARTS, generate

    for sample in generate(7, per_family=2, negatives=0, kinds=("photo",), part=PARTS["held-out"]):
        if len(sample.codes) != 1:
            continue
        try:
            found = {code.code for code in read_image(scaled_like_the_tablet(sample.data), timeout=30).alarm_codes}
        except OcrError:
            continue
        if found == set(sample.codes):
            return sample.data, next(iter(sample.codes))
    raise SystemExit("No corpus photo was read right; nothing to time.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--up-mbit", type=float, default=4.0, help="upload bandwidth, Mbit/s (default 4)")
    parser.add_argument("--down-mbit", type=float, default=20.0, help="download bandwidth, Mbit/s (default 20)")
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--database", default="logbook_journey")
    args = parser.parse_args(argv)

    print("Choosing the photo ...", flush=True)
    photo, code = _photo()
    server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    try:
        with Production(server=server, database=args.database) as prod:
            prod.setup()
            prod.manage("seed_demo", "--issues", "50", "--seed", "7", DEBUG="true")
            prod.start()
            machines = [str(row[0]) for row in prod.query("SELECT id FROM manufacturing_machine ORDER BY name")]
            return _journeys(prod, machines, photo, code, args)
    except RecipeError as e:
        print(f"The production recipe did not start:\n{e}", file=sys.stderr)
        return 2


def _journeys(prod, machines, photo, code, args) -> int:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    steps: dict[str, list[float]] = {"page shown": [], "photo read": [], "sent and confirmed": [], "journey": []}
    taps_per_run: list[int] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(prod.url + "/login/")
        page.get_by_label("Username").fill("operator")
        page.get_by_label("Password").fill("operator")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": args.latency_ms,
            "uploadThroughput": args.up_mbit * 1e6 / 8, "downloadThroughput": args.down_mbit * 1e6 / 8,
        })
        for run in range(args.runs):
            machine = machines[run % len(machines)]
            taps = 0
            started = time.monotonic()
            page.goto(f"{prod.url}/m/{machine}/")
            page.get_by_role("button", name="Send report").wait_for()
            shown = time.monotonic()
            with page.expect_file_chooser() as chooser:
                page.locator("label").filter(has_text="Take a photo").tap()
            taps += 1
            chooser.value.set_files(files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}])
            page.locator(f"[data-alarm-code='{code}'][aria-pressed=true]").wait_for()
            assert page.get_by_role("radio", name="Alarm").is_checked(), "Alarm was not picked"
            read = time.monotonic()
            page.locator("label").filter(has_text="No, it stopped").tap()
            taps += 1
            page.get_by_role("button", name="Send report").tap()
            taps += 1
            page.wait_for_url("**/reported/")
            page.get_by_text("Reported. Thank you.").wait_for()
            done = time.monotonic()
            steps["page shown"].append(shown - started)
            steps["photo read"].append(read - shown)
            steps["sent and confirmed"].append(done - read)
            steps["journey"].append(done - started)
            taps_per_run.append(taps)
        browser.close()

    uploaded = [row[0] for row in prod.query(
        "SELECT size FROM issues_attachment WHERE original_name = 'IMG_0001.jpg'")]
    stored = prod.query("SELECT count(*) FROM issues_issue i JOIN issues_alarmcode c ON c.issue_id = i.id "
                        "WHERE c.code = %s AND NOT i.is_runnable AND i.category = 'alarm'", [code])[0][0]
    print()
    print(f"The journey at the machine: {args.runs} runs, production recipe, a 1280x800 touch tablet on "
          f"{args.up_mbit:g} Mbit/s up, {args.down_mbit:g} down, {args.latency_ms:g} ms")
    print(f"taps inside the app: {max(taps_per_run)} (typing: none; the code {code} was read from the photo)")
    print(f"{'step':<22} {'median s':>9} {'worst s':>8}")
    for name, values in steps.items():
        print(f"{name:<22} {statistics.median(values):>9.2f} {max(values):>8.2f}")
    print(f"photo: {len(photo) / 1e6:.2f} MB from the camera (4032x3024), {statistics.median(uploaded) / 1e6:.2f} MB "
          "uploaded after the tablet scaled it down (as stored)")
    print(f"reports stored with code {code}, stopped, 'Alarm': {stored} of {args.runs}")
    return 0 if stored == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
