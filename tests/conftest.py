"""Fixtures shared by the whole suite: the three roles, an outsider, a small factory, a browser."""

import os

import pytest
from django.contrib.auth.models import Group

from floor import roles
from floor.models import Department, Machine

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite the test database is a file, as `make run`'s is, not memory: the live server's threads,
    the photo readers and the test itself then each have a connection of their own with SQLite's locking
    and busy timeout. A shared in-memory database instead fails a reader at once with "table is locked"
    while another thread writes."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("database") / "test.sqlite3")


@pytest.fixture(autouse=True)
def own_ocr_slots(settings, tmp_path_factory):
    # The photo readers' slots are shared by every process of the machine; a test run has its own, so
    # another run on the same machine does not take its turns.
    settings.OCR_SLOTS_DIR = str(tmp_path_factory.getbasetemp() / "ocr-slots")
    yield
    # A photo a test left being read in the background is read before the next test begins: its
    # reader must not write into the next test's database.
    from floor import photos

    photos.wait_until_read(timeout=60)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashing costs a third of a second per user; the tests are not about it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _user(django_user_model, username, role=None):
    user = django_user_model.objects.create_user(username=username, password=PASSWORD,
                                                 first_name=username.title())
    if role:
        # A transactional test (browser tests) empties every table afterwards, groups included; the flush's
        # post_migrate makes the roles again (floor/apps.py), but not where a test class inhibits it.
        if not Group.objects.filter(name=role).exists():
            roles.sync_roles()
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def operator(db, django_user_model):
    return _user(django_user_model, "olga", roles.OPERATOR)


@pytest.fixture
def maintenance(db, django_user_model):
    return _user(django_user_model, "marek", roles.MAINTENANCE)


@pytest.fixture
def manager(db, django_user_model):
    return _user(django_user_model, "mia", roles.MANAGER)


@pytest.fixture
def outsider(db, django_user_model):
    """Signed in, but in no role: sees nothing."""
    return _user(django_user_model, "otto")


@pytest.fixture
def department(db):
    # The test database's factory tables were made by our migration, so writing them here is fine.
    return Department.objects.create(name="Milling")


@pytest.fixture
def machine(department):
    return Machine.objects.create(name="M-01 Haas VF-2", department=department)


@pytest.fixture
def other_machine(department):
    return Machine.objects.create(name="M-04 Fanuc Robodrill", department=department)


# --- browser ----------------------------------------------------------------------------------------
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser build)."""
    # Playwright runs an event loop in this thread; the ORM beside it would refuse to run otherwise.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screen(browser):
    """Opens pages on screens of a given size; each its own browser context, closed after the test.

    A page that breaks the Content-Security-Policy (an inline script or style, eval) or throws a script
    error fails the test: either would break the page for the operator without anyone noticing.
    """
    contexts = []
    problems = []

    def watch(page):
        page.on("console", lambda m: m.type == "error" and "Content Security Policy" in m.text
                and problems.append(f"{page.url}: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))

    def open_page(width, height, *, touch=False):
        context = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch)
        context.on("page", watch)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def tablet(screen):
    """A landscape tablet with touch, as bolted beside a machine."""
    return screen(1280, 800, touch=True)


@pytest.fixture
def desktop(screen):
    """Maintenance's desktop."""
    return screen(1600, 1000)


@pytest.fixture
def tv(screen):
    """A 1920 x 1080 television on the shop floor, with no keyboard or mouse."""
    return screen(1920, 1080)


@pytest.fixture
def sign_in(live_server):
    def sign_in(page, user, password=PASSWORD):
        page.goto(live_server.url + "/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    return sign_in
