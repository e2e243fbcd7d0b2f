"""
Settings for Machine Logbook.

Everything that differs between installations is read from the environment (or an optional `.env`
file) through django-environ. Every variable is listed in env_example.txt and in the README.
With nothing configured the app runs for development: SQLite, DEBUG on, AI off.
"""

import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Real environment variables win over the file: read_env only fills in what is unset.
ENV_FILE = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if Path(ENV_FILE).is_file():
    env.read_env(ENV_FILE)


def _require(name):
    """Production settings that must be set: fail at start, naming the variable."""
    value = env.str(name, default="")
    if not value.strip():
        raise ImproperlyConfigured(
            f"{name} must be set when DEBUG is off. See env_example.txt and the README."
        )
    return value


DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
else:
    SECRET_KEY = _require("SECRET_KEY")
    ALLOWED_HOSTS = [h.strip() for h in _require("ALLOWED_HOSTS").split(",") if h.strip()]

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The address printed on QR labels: the URL operators' tablets reach this server by.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# A SITE_URL on this machine alone (127.0.0.1, localhost) gives QR labels and wall links nobody else
# can open: the pages that print them say so (templates/_site_url_warning.html), and so does a check.
try:
    _site_host = urlsplit(SITE_URL).hostname or ""
    SITE_URL_IS_LOOPBACK = _site_host == "localhost" or ipaddress.ip_address(_site_host).is_loopback
except ValueError:
    SITE_URL_IS_LOOPBACK = False


# --- Database ---------------------------------------------------------------------------------------
# DATABASE_URL wins. Otherwise DB_NAME and friends (the variables of the older backend, so an existing
# .env keeps working) select PostgreSQL. Otherwise the embedded SQLite file for development and demos.
def _database():
    if env.str("DATABASE_URL", default=""):
        try:
            config = env.db_url("DATABASE_URL")
        except (environ.ImproperlyConfigured, ValueError) as e:
            raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {e}") from e
        if config.get("ENGINE") not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
            raise ImproperlyConfigured(
                "DATABASE_URL must start with postgres:// (or sqlite:/// for a local file); "
                f"got a {env.str('DATABASE_URL').split(':', 1)[0]}: URL."
            )
        return config
    if env.str("DB_NAME", default=""):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env.str("DB_NAME"),
            "USER": env.str("DB_USER", default=""),
            "PASSWORD": env.str("DB_PASSWORD", default=""),
            "HOST": env.str("DB_HOST", default="localhost"),
            "PORT": env.str("DB_PORT", default="5432"),
        }
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")),
        "OPTIONS": {
            # The web server and the task worker write at the same time: wait for the lock instead of
            # failing at once, and let readers go on while one writes.
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DATABASES = {"default": _database()}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# --- Applications -----------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_htmx",
    "crispy_forms",
    "crispy_tailwind",
    # floor before django_tasks_db: of two apps with a command of one name, Django runs the first
    # one's, and floor's `db_worker` is django-tasks-db's made to outlive a database restart.
    "floor",
    "django_tasks_db",
    "desk",
    "dashboard",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Everything but the login page and static files needs a signed-in user.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a refused sign-in into the lockout page on the way out, and the
    # middleware above still adds their headers (the CSP) to that page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "logbook_site.urls"
WSGI_APPLICATION = "logbook_site.wsgi.application"
ASGI_APPLICATION = "logbook_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "logbook_site.context_processors.navigation",
                "logbook_site.context_processors.outbox",
                "logbook_site.context_processors.site_url",
            ],
        },
    },
]

CRISPY_ALLOWED_TEMPLATE_PACKS = "tailwind"
CRISPY_TEMPLATE_PACK = "tailwind"


# --- Auth -------------------------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Shared tablets stay signed in for a working week.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=7 * 24 * 3600)


# --- Sign-in throttling (django-axes; our policy on top of it in logbook_site/login_throttle.py) ---------
# Tablets in a hall sit behind one NAT address, and people mistype with gloves on, so there are two limits:
# an account is locked after LOGIN_FAILURE_LIMIT failed sign-ins from anywhere (guessing one person's
# password is the attack that matters, and a person's own typos lock only their own account), and an
# address only after LOGIN_ADDRESS_FAILURE_LIMIT failures over all accounts (one device trying name after
# name still stops, but a hall's worth of typos at shift change does not lock everyone out). A lock lasts
# LOGIN_LOCKOUT_MINUTES after the last failure that counts; an administrator can lift it at once (Access
# attempts in the admin, or `manage.py axes_reset_username NAME`).
def _at_least_one(name, default):
    value = env.int(name, default=default)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number, 1 or more; got {value}.")
    return value


LOGIN_FAILURE_LIMIT = _at_least_one("LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = _at_least_one("LOGIN_ADDRESS_FAILURE_LIMIT", 50)
LOGIN_LOCKOUT_MINUTES = _at_least_one("LOGIN_LOCKOUT_MINUTES", 15)
# X-Forwarded-For is believed only for this many reverse proxies in front of the app that each append the
# address they were reached from (nginx: proxy_add_x_forwarded_for). 0: the connection's address is the
# client's, and the header, which any client can write, is ignored. Behind a proxy, leaving it 0 makes every
# sign-in come from the proxy's one address.
REVERSE_PROXY_COUNT = env.int("REVERSE_PROXY_COUNT", default=0)
if REVERSE_PROXY_COUNT < 0:
    raise ImproperlyConfigured("REVERSE_PROXY_COUNT must be 0 or more.")

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked account or address before its password is checked.
    "logbook_site.login_throttle.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
# Either one locks: the account (any address) or the address (any account), each against its own limit.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "logbook_site.login_throttle.ShopFloorHandler"
AXES_CLIENT_IP_CALLABLE = "logbook_site.login_throttle.client_address"
# The login page again, with the reason and the time to try again (not a bare 429).
AXES_LOCKOUT_CALLABLE = "logbook_site.login_throttle.lockout_page"
# Tries during a lock are refused without being counted: the time on the page stays true, and typing the
# right password once more does not make the wait longer.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Only failures are kept, which throttling needs; a record of every person's sign-ins and sign-outs would
# be a log of staff presence nobody asked for.
AXES_DISABLE_ACCESS_LOG = True


# --- Time and language ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True


# --- Static and media -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Uploaded photos and videos. They are served through a login-protected view, never publicly.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
if not MEDIA_URL.endswith("/"):
    MEDIA_URL += "/"
UPLOAD_MAX_MB = env.int("UPLOAD_MAX_MB", default=10)
if UPLOAD_MAX_MB < 1:
    raise ImproperlyConfigured("UPLOAD_MAX_MB must be a whole number of megabytes, 1 or more.")
# Uploads larger than this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# A multipart request holds a few files plus the form; leave room above one file's limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024


# --- Background tasks -------------------------------------------------------------------------------
# AI work runs after the request in the task worker (`manage.py db_worker`), never inside it; notifications
# have a queue of their own, worked by the worker's notification lane (NOTIFY_WORKER_THREADS threads).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "notifications"]}}


# --- Notifications (floor/notify.py decides, floor/channels.py sends) --------------------------------------
# E-mail through Django's mailers (MAILERS), configured from the environment under the names of Django's
# own e-mail settings. No EMAIL_HOST: no mail is sent, and the pages and `manage.py check` say so.
_email_host = env.str("EMAIL_HOST", default="")
MAIL_ENABLED = bool(_email_host)
_email_use_tls = env.bool("EMAIL_USE_TLS", default=False)
_email_use_ssl = env.bool("EMAIL_USE_SSL", default=False)
if _email_use_tls and _email_use_ssl:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS (STARTTLS, usually port 587) or EMAIL_USE_SSL (port 465), not both.")
# Seconds one SMTP conversation may take; a mail server that hangs is given up on and tried again later.
MAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
# Without EMAIL_HOST nothing of ours sends mail (floor/channels.py asks MAIL_ENABLED first); the mailer
# is still the SMTP one, to this machine, as Django's own default was.
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": _email_host or "localhost",
            "port": env.int("EMAIL_PORT", default=25),
            "username": env.str("EMAIL_HOST_USER", default=""),
            "password": env.str("EMAIL_HOST_PASSWORD", default=""),
            "use_tls": _email_use_tls,
            "use_ssl": _email_use_ssl,
            "timeout": MAIL_TIMEOUT,
        },
    },
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Machine Logbook <logbook@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds one webhook post may take.
NOTIFY_WEBHOOK_TIMEOUT = env.float("NOTIFY_WEBHOOK_TIMEOUT", default=10.0)
# Webhooks to this machine itself (127.0.0.1, ::1) are refused unless allowed: a local ntfy, say.
WEBHOOK_ALLOW_LOOPBACK = env.bool("WEBHOOK_ALLOW_LOOPBACK", default=False)
# A stopped machine nobody has answered (still open, nobody assigned) is escalated to the managers after
# this many minutes, and once more after as many again; per department in the admin (Escalation rules).
# 0: never.
NOTIFY_ESCALATE_MINUTES = env.int("NOTIFY_ESCALATE_MINUTES", default=15)
NOTIFY_ESCALATE_AGAIN_MINUTES = env.int("NOTIFY_ESCALATE_AGAIN_MINUTES", default=15)
# Repeats of one alarm on one machine within this many minutes make one message (with a count), not many.
NOTIFY_FOLD_MINUTES = env.int("NOTIFY_FOLD_MINUTES", default=10)
# The hour (0-23, TIME_ZONE) the managers' summary of the day before is sent.
NOTIFY_SUMMARY_HOUR = env.int("NOTIFY_SUMMARY_HOUR", default=6)
# Threads of each db_worker that send notifications, beside the one that does AI work; 0: this worker
# sends none (another one does).
NOTIFY_WORKER_THREADS = env.int("NOTIFY_WORKER_THREADS", default=4)
for _name in ("NOTIFY_ESCALATE_MINUTES", "NOTIFY_ESCALATE_AGAIN_MINUTES", "NOTIFY_FOLD_MINUTES",
              "NOTIFY_WORKER_THREADS"):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must be 0 or more.")
if not 0 <= NOTIFY_SUMMARY_HOUR <= 23:
    raise ImproperlyConfigured("NOTIFY_SUMMARY_HOUR must be an hour from 0 to 23.")
if MAIL_TIMEOUT <= 0 or NOTIFY_WEBHOOK_TIMEOUT <= 0:
    raise ImproperlyConfigured("EMAIL_TIMEOUT and NOTIFY_WEBHOOK_TIMEOUT must be seconds above 0.")


# --- OCR ---------------------------------------------------------------------------------------------
# All Tesseract calls go through floor/ocr.py. A read that takes longer than this is given up on; the
# form never waits longer for it.
TESSERACT_CMD = env.str("TESSERACT_CMD", default="tesseract")
OCR_TIMEOUT_SECONDS = env.float("OCR_TIMEOUT_SECONDS", default=6.0)
# Photos read at once on this machine, by all server processes together (floor/photos.py): one per core
# keeps reading from crowding out every other request.
OCR_CONCURRENCY = env.int("OCR_CONCURRENCY", default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                          else (os.cpu_count() or 1))
if OCR_CONCURRENCY < 1:
    raise ImproperlyConfigured("OCR_CONCURRENCY must be a whole number, 1 or more.")
# The readers' lock files (one per slot). Every server process of the machine must see the same folder.
OCR_SLOTS_DIR = env.str("OCR_SLOTS_DIR", default="") or None


# --- AI ---------------------------------------------------------------------------------------------
# Off unless an API key or a base URL of an OpenAI-compatible server is configured; AI_ENABLED=false
# turns it off whatever else is set.
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
AI_ENABLED = env.bool("AI_ENABLED", default=True) and bool(OPENAI_API_KEY or OPENAI_BASE_URL)
# One request may take this long; a failed or unusable reply is tried AI_ATTEMPTS times in all, waiting
# AI_RETRY_BASE_SECONDS, then twice that, and so on (or what the server's Retry-After asks).
AI_TIMEOUT_SECONDS = env.float("AI_TIMEOUT_SECONDS", default=15.0)
AI_ATTEMPTS = env.int("AI_ATTEMPTS", default=3)
AI_RETRY_BASE_SECONDS = env.float("AI_RETRY_BASE_SECONDS", default=2.0)
if AI_ATTEMPTS < 1:
    raise ImproperlyConfigured("AI_ATTEMPTS must be 1 or more.")
# Text still pending this long after all attempts could have run counts as failed (floor/ai.py,
# pending_limit): the worker writing it stopped. The margin covers the wait in the queue.
AI_QUEUE_MARGIN_SECONDS = env.float("AI_QUEUE_MARGIN_SECONDS", default=60.0)


# --- Security ---------------------------------------------------------------------------------------
# Many factory networks serve plain HTTP; HTTPS=true (behind a TLS proxy that sets X-Forwarded-Proto)
# makes cookies secure-only, redirects plain HTTP to HTTPS and tells browsers to stay on HTTPS (HSTS).
HTTPS = env.bool("HTTPS", default=False)
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # An hour to begin with, as Django's deployment guide advises: a broken certificate then locks
    # tablets out for an hour, not a year. Raise it (31536000) once HTTPS has run for a while.
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600)
    # Off by default, and their deploy checks silenced while off: other hosts of the factory's domain
    # (machine PCs, printers, the ERP) often speak plain HTTP, and an internal host name cannot be
    # on the browsers' preload list.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SILENCED_SYSTEM_CHECKS = [
        *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
        *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
    ]

# Every page may load only what this server serves: no inline script or style, no eval, no outside
# host (the network may have no internet, and nothing injected into a page can run). Uploaded files
# carry a stricter policy of their own (the media_file view).
# --- the REST API (logbook_site/api/) -------------------------------------------------------------------
# Calls per minute (or "/hour", "/second") one API key, person or address may make; beyond it a 429 with
# Retry-After. Counted per server process (in its own memory): with N gunicorn workers a key gets up to
# N times this in the worst case.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="600/min").strip()
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", API_THROTTLE_RATE):
    raise ImproperlyConfigured(f"API_THROTTLE_RATE must be calls per period such as 600/min or 5000/hour; "
                               f"got {API_THROTTLE_RATE!r}.")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "logbook_site.api.security.APIKeyAuthentication",  # first: its WWW-Authenticate makes a 401
        "logbook_site.api.security.BrowserSession",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["logbook_site.api.security.RolePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["logbook_site.api.security.KeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "logbook_site.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Machine Logbook API",
    "DESCRIPTION": "Issues of the factory's CNC machines: report, triage, remedies, photos read for alarm "
                   "codes, figures. Authenticate with an API key made in the admin: "
                   "`Authorization: Bearer mlk_...`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Without deep links: with them Swagger UI puts each operation's link inside the button that opens it,
    # and a link inside a button is skipped by keyboards and screen readers.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    # No Redoc: its page loads fonts from an outside host. Swagger UI only, at /api/docs/.
    "TAGS": [{"name": "Issues"}, {"name": "Factory"}, {"name": "History"}, {"name": "OCR"}, {"name": "Dashboard"}],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "logbook_site.api.schema.empty_query_values"],
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "floor.models.Status",
        "CategoryEnum": "floor.models.Category",
        "PriorityEnum": "floor.models.Priority",
    },
}

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "media-src": [CSP.SELF, "blob:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
