"""Every page, opened as the role that uses it, has no serious or critical accessibility violation as
axe-core finds them.

axe-core is the npm package (package.json, installed by `make test`), served to the page as a same-origin
script by Playwright: nothing comes from the internet, and the page's own Content-Security-Policy stays in
force (`script-src 'self'` lets the script in; the `screen` fixture fails the test on any CSP report)."""

from pathlib import Path

import pytest

from dashboard import views as dashboard_views
from dashboard.models import DisplayLink
from floor.models import Channel, Delivery, DeliveryAttempt, Issue, Notice, Subscription
from floor.reporting import record_remedy, report_issue
from tests import images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "/__axe-core__/axe.min.js"  # answered by Playwright from node_modules, never by the app
FAILING_IMPACTS = {"serious", "critical"}
# Moderate by axe-core's measure, but every page of ours says in one h1 what it is.
FAILING_RULES = {"page-has-heading-one"}
# axe-core's rules as it runs them by default, and one of its experimental ones: the visible text of a
# control is part of its name (WCAG 2.5.3), or voice control cannot reach it by what it shows.
OPTIONS = {"resultTypes": ["violations"], "rules": {"label-content-name-mismatch": {"enabled": True}}}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


class Axe:
    """`axe.run(page, where)` runs axe-core on the page as it is now and keeps what it found;
    `axe.assert_clean()` then fails on every serious or critical violation seen on any page (and on a page
    without an h1), each with its rule, impact, elements and page, so that one run lists them all."""

    def __init__(self, base_url):
        assert AXE.is_file(), f"{AXE} is missing: run `npm ci` (make test does)"
        self.source = AXE.read_text()
        self.base_url = base_url
        self.found = []
        self.routed = set()
        self.checked = False

    def run(self, page, where):
        if page not in self.routed:
            page.route(self.base_url + AXE_PATH,
                       lambda route: route.fulfill(body=self.source, content_type="text/javascript"))
            self.routed.add(page)
        if not page.evaluate("() => 'axe' in window"):
            page.add_script_tag(url=self.base_url + AXE_PATH)
        results = page.evaluate("options => axe.run(document, options)", OPTIONS)
        for violation in results["violations"]:
            if violation["impact"] in FAILING_IMPACTS or violation["id"] in FAILING_RULES:
                nodes = [_described(node) for node in violation["nodes"]]
                self.found.append(f"{where} ({page.url.removeprefix(self.base_url)}): {violation['id']} "
                                  f"({violation['impact']}, {violation['help']}) at\n    "
                                  + "\n    ".join(nodes[:6])
                                  + (f"\n    and {len(nodes) - 6} more" if len(nodes) > 6 else ""))
        return results

    def assert_clean(self):
        self.checked = True
        assert not self.found, "axe-core found serious or critical violations:\n" + "\n".join(self.found)


def _described(node):
    """A violating element's selector and what axe-core says of it ("insufficient color contrast of 4.34
    (foreground color: #64748b, ...)")."""
    messages = [check["message"] for check in node["any"] + node["all"] + node["none"] if check.get("message")]
    return " ".join(node["target"]) + (f": {messages[0]}" if messages else "")


@pytest.fixture
def axe(live_server):
    axe = Axe(live_server.url)
    yield axe
    assert axe.checked, "a test ran axe-core without axe.assert_clean()"


def _factory(operator, maintenance, machine, other_machine):
    """Issues in every state a page shows: a machine down, an alarm fixed before, a resolved one."""
    fixed = report_issue(machine=other_machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False,
                         by=operator, description="servo alarm on X")
    record_remedy(issue=fixed, description="Reseated the X amplifier's CX4 connector.", by=maintenance,
                  minutes_spent=35, resolve=True)
    report_issue(machine=other_machine, category="quality", by=operator, description="bore oversize")
    return report_issue(machine=machine, category="alarm", alarm_codes=["SV0401"], is_runnable=False,
                        by=operator, description="servo alarm X axis, machine stopped")


def test_floor_pages_as_the_operator_at_a_tablet(live_server, tablet, sign_in, axe, operator, maintenance,
                                                 machine, other_machine):
    _factory(operator, maintenance, machine, other_machine)
    sign_in(tablet, operator)
    tablet.goto(f"{live_server.url}/floor/")
    axe.run(tablet, "machine list")

    tablet.goto(f"{live_server.url}/m/{machine.pk}/")
    tablet.locator("input[type=file]").set_input_files(
        files=[{"name": "alarm-screen.png", "mimeType": "image/png", "buffer": images.alarm_screen()}]
    )
    tablet.locator("[data-alarm-code='SV0401']").wait_for()
    axe.run(tablet, "machine page, photo read")

    tablet.get_by_label("Alarm code").fill("")
    tablet.get_by_role("button", name="Send report").tap()
    tablet.get_by_text("Say whether the machine still runs.").wait_for()
    axe.run(tablet, "machine page, form errors")

    tablet.get_by_text("No, it stopped").tap()
    tablet.get_by_role("button", name="Send report").tap()
    tablet.wait_for_url("**/reported/")
    axe.run(tablet, "confirmation")
    axe.assert_clean()


def test_desk_pages_as_maintenance_at_a_desktop(live_server, desktop, sign_in, axe, operator, maintenance,
                                               machine, other_machine):
    down = _factory(operator, maintenance, machine, other_machine)
    sign_in(desktop, maintenance)
    desktop.goto(f"{live_server.url}/desk/")
    axe.run(desktop, "desk")
    desktop.goto(f"{live_server.url}/issues/{down.pk}/")
    desktop.get_by_role("heading", name="Timeline").wait_for()
    axe.run(desktop, "issue page")
    fixed = Issue.objects.exclude(pk=down.pk).filter(remedies__isnull=False).get()
    desktop.goto(f"{live_server.url}/issues/{fixed.pk}/")
    axe.run(desktop, "issue page, resolved")
    desktop.goto(f"{live_server.url}/floor/labels/")
    axe.run(desktop, "labels")
    desktop.goto(f"{live_server.url}/api/docs/")
    desktop.get_by_text("/api/issues/{id}/update_status/").first.wait_for()
    axe.run(desktop, "API docs")
    axe.assert_clean()


def test_the_notifications_page_as_maintenance(live_server, desktop, sign_in, axe, operator, maintenance, machine,
                                              other_machine, settings):
    settings.MAIL_ENABLED = False  # the page says so
    _factory(operator, maintenance, machine, other_machine)
    sign_in(desktop, maintenance)
    desktop.goto(f"{live_server.url}/notifications/")
    desktop.get_by_text("You hear the default for your role").wait_for()
    axe.run(desktop, "notifications, the role's default")

    desktop.get_by_label("Name").fill("Hall 2 receiver")
    desktop.get_by_label("Channel").select_option("webhook")
    desktop.get_by_label("Webhook URL").fill("http://169.254.169.254/latest")
    desktop.get_by_role("button", name="Add subscription").click()
    desktop.get_by_text("a cloud metadata address").wait_for()
    axe.run(desktop, "notifications, form errors")

    desktop.get_by_label("Webhook URL").fill("https://receiver.plant.example/hooks")
    desktop.get_by_label("Machine down", exact=True).check()
    desktop.get_by_role("button", name="Add subscription").click()
    desktop.locator("[data-secret]").wait_for()
    axe.run(desktop, "notifications, a webhook's secret shown")

    subscription = Subscription.objects.get()
    failed = Delivery.objects.create(key="a11y", notice=Notice.MACHINE_DOWN, channel=Channel.WEBHOOK, user=maintenance,
                                     subscription=subscription, target=subscription.url, state=Delivery.State.FAILED,
                                     attempts=1, last_error="The endpoint answered 503 Service Unavailable")
    DeliveryAttempt.objects.create(delivery=failed, duration_ms=412, status_code=503, response_excerpt="upstream down",
                                   error="The endpoint answered 503 Service Unavailable")
    desktop.get_by_role("button", name="Send a test through Hall 2 receiver").click()
    desktop.locator("[data-state=pending]").wait_for()
    desktop.get_by_text("Tries (1)").click()
    axe.run(desktop, "notifications, the log with a test under way and a failed message's tries")

    desktop.get_by_role("link", name="Change Hall 2 receiver").click()
    desktop.get_by_role("heading", name="Change “Hall 2 receiver”").wait_for()
    desktop.get_by_text("Delete…").click()
    axe.run(desktop, "notifications, changing a subscription")
    axe.assert_clean()


def test_dashboard_pages_as_the_manager(live_server, desktop, sign_in, axe, operator, maintenance, manager,
                                        machine, other_machine):
    _factory(operator, maintenance, machine, other_machine)
    DisplayLink.objects.create(name="Hall A, by the door", created_by=manager)
    sign_in(desktop, manager)
    desktop.goto(f"{live_server.url}/dashboard/")
    axe.run(desktop, "dashboard")
    desktop.goto(f"{live_server.url}/dashboard/displays/")
    axe.run(desktop, "display links")
    axe.assert_clean()


def test_the_wall_screen_before_and_after_its_tiles_refresh(live_server, tv, axe, operator, maintenance, manager,
                                                            machine, other_machine, monkeypatch):
    monkeypatch.setattr(dashboard_views, "WALL_POLL_SECONDS", 1)  # the real screen polls every 30 s
    link = DisplayLink.objects.create(name="Hall A, by the door", created_by=manager)
    tv.goto(f"{live_server.url}/dashboard/wall/{link.token}/")
    axe.run(tv, "wall screen")

    _factory(operator, maintenance, machine, other_machine)
    tv.locator("section[aria-label=Now] p.tabular-nums").first.filter(has_text="1").wait_for()
    tv.get_by_text(machine.name).first.wait_for()
    axe.run(tv, "wall screen, refreshed")
    axe.assert_clean()


def test_the_login_page_and_not_found(live_server, tablet, sign_in, axe, operator, settings):
    tablet.goto(f"{live_server.url}/login/")
    axe.run(tablet, "login")
    tablet.get_by_label("Username").fill(operator.username)
    tablet.get_by_label("Password").fill("wrong")
    tablet.get_by_role("button", name="Sign in").tap()
    tablet.get_by_role("alert").first.wait_for()
    axe.run(tablet, "login, wrong password")

    sign_in(tablet, operator)
    settings.DEBUG = False  # with DEBUG on, Django answers with its own technical page instead of ours
    tablet.goto(f"{live_server.url}/m/00000000-0000-0000-0000-000000000000/")
    tablet.get_by_role("heading", name="We can't find that page").wait_for()
    axe.run(tablet, "not found")
    axe.assert_clean()
