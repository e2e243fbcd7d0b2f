# Machine Logbook. `make run` serves the app with a demo factory; `make test` runs the whole suite.
# Every target sets up what it needs: the virtual environment (with a Python >= 3.12 it finds itself),
# the Python packages, and the system packages where this user may install them.

VENV        ?= .venv
PY          := $(VENV)/bin/python
HOST        ?= 127.0.0.1
PORT        ?= 8000
# The PostgreSQL server for the second half of the suite; the test database is made from its name.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/logbook
# The OCR corpus draws its screens in the fonts of these packages (tests/ocr_corpus.py: the tuning part
# and the held-out part use different ones).
CORPUS_FONTS := fonts-dejavu-core fonts-liberation fonts-urw-base35 fonts-noto-mono fonts-hack fonts-freefont-ttf \
  fonts-roboto-unhinted fonts-terminus-otb fonts-inconsolata fonts-jetbrains-mono fonts-firacode fonts-croscore \
  fonts-go fonts-b612 fonts-anonymous-pro fonts-mononoki fonts-3270 fonts-open-sans fonts-lato fonts-spleen
SYSTEM_PACKAGES_RUN  := tesseract-ocr
SYSTEM_PACKAGES_TEST := tesseract-ocr chromium postgresql-client $(CORPUS_FONTS)
export OMP_THREAD_LIMIT := 1

.PHONY: help run serve test test-sqlite test-postgres venv system-packages system-packages-test \
        css css-check node-packages lint migrate demo bench-ocr bench-desk bench-api bench-dashboard bench-load bench-journey bench-notify test-production clean

help:
	@echo "make run    serve the app on http://$(HOST):$(PORT) with a demo factory (SQLite unless configured)"
	@echo "make test   the whole suite, on SQLite and again on PostgreSQL"
	@echo "make css    rebuild static/css/app.css from the templates (needs npm)"

# --- environment ----------------------------------------------------------------------------------
$(PY):
	@python=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.test: requirements.txt requirements-test.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	@touch $@

venv: $(VENV)/.runtime

system-packages:
	@scripts/system-packages $(SYSTEM_PACKAGES_RUN) || \
	  echo "WARNING: without tesseract-ocr the photo preview cannot read alarm codes; everything else works."

system-packages-test:
	@scripts/system-packages $(SYSTEM_PACKAGES_TEST)

# --- running --------------------------------------------------------------------------------------
migrate: $(VENV)/.runtime
	$(PY) manage.py migrate --no-input

demo: migrate
	$(PY) manage.py seed_demo --if-empty

run: system-packages demo
	@echo
	@echo "  Machine Logbook: http://$(HOST):$(PORT)/"
	@echo "  Demo logins (username / password): operator / operator, maintenance / maintenance,"
	@echo "  manager / manager, admin / admin (Django admin at /admin/)"
	@echo
	@scripts/serve $(PY) $(HOST) $(PORT)

# --- tests ----------------------------------------------------------------------------------------
test: system-packages-test $(VENV)/.test node-packages css-check lint
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-postgres

# Unused imports and names, syntax, long lines: what a reviewer should not have to point out.
lint: $(VENV)/.test
	$(VENV)/bin/ruff check .

test-sqlite: $(VENV)/.test node-packages
	@echo "=== Test suite on SQLite ==="
	env -u DATABASE_URL -u DB_NAME ENV_FILE=/dev/null $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: $(VENV)/.test node-packages
	@echo "=== Test suite on PostgreSQL ==="
	@if scripts/postgres-up; then \
	  env -u DB_NAME ENV_FILE=/dev/null DATABASE_URL=$(TEST_POSTGRES_URL) $(PY) -m pytest $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
	  echo "ERROR: PostgreSQL at $(TEST_POSTGRES_URL) is not reachable; CI needs it." >&2; exit 1; \
	else \
	  echo; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  echo "!! PostgreSQL at $(TEST_POSTGRES_URL) is not reachable: the PostgreSQL half was SKIPPED."; \
	  echo "!! Start a server (or set TEST_POSTGRES_URL) and run: make test-postgres"; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	fi

# The README's production recipe run as written (migrate, collectstatic, gunicorn, db_worker, DEBUG off)
# on a PostgreSQL database the tests make and drop, with a tablet's report through it in Chromium.
# test-postgres runs these too; this target runs them alone.
test-production: system-packages-test $(VENV)/.test
	@echo "=== Production recipe on PostgreSQL ==="
	@scripts/postgres-up || { echo "test-production needs PostgreSQL at $(TEST_POSTGRES_URL)" >&2; exit 1; }
	env -u DB_NAME ENV_FILE=/dev/null DATABASE_URL=$(TEST_POSTGRES_URL) $(PY) -m pytest tests/production -m production $(PYTEST_ARGS)

# --- front end ------------------------------------------------------------------------------------
# The built stylesheet is committed, so running the app never needs Node. These need npm.
CSS_OUT := static/css/app.css

# package-lock.json's npm packages: Tailwind for `make css`, axe-core for tests/browser/test_accessibility.py.
# Installed again whenever the lock file changes (a checkout whose node_modules predates axe-core gets it).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "WARNING: npm not found; without node_modules/axe-core the accessibility test fails." >&2; fi

node-packages: node_modules/.installed

css: $(VENV)/.runtime node-packages
	@scripts/build-css $(PY) $(CSS_OUT)

# Fails when static/css/app.css is not what the templates produce; skipped (loudly) without npm.
css-check: $(VENV)/.runtime node-packages
	@if command -v npm >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d) && scripts/build-css $(PY) $$tmp/app.css >/dev/null && \
	  if cmp -s $$tmp/app.css $(CSS_OUT); then echo "static/css/app.css is up to date"; \
	  else echo "ERROR: static/css/app.css is stale: run 'make css' and commit it." >&2; exit 1; fi; \
	else echo "WARNING: npm not found; not checking that static/css/app.css is up to date."; fi

# --- benchmarks (print figures; never part of the test suite) -------------------------------------
bench-ocr: system-packages-test $(VENV)/.test
	$(PY) -m tests.bench.ocr $(BENCH_ARGS)

# The desk and dashboard benchmarks share a PostgreSQL database of their own (logbook_bench), seeded
# once with a million issues (a few minutes) and reused.
bench-desk: $(VENV)/.test
	@scripts/postgres-up || { echo "bench-desk needs PostgreSQL on 127.0.0.1:5432" >&2; exit 1; }
	$(PY) -m tests.bench.desk $(BENCH_ARGS)

# The REST API (lists, filters, search, sync, detail, report) on the same bench database, with an API key.
bench-api: $(VENV)/.test
	@scripts/postgres-up || { echo "bench-api needs PostgreSQL on 127.0.0.1:5432" >&2; exit 1; }
	$(PY) -m tests.bench.api $(BENCH_ARGS)

bench-dashboard: $(VENV)/.test
	@scripts/postgres-up || { echo "bench-dashboard needs PostgreSQL on 127.0.0.1:5432" >&2; exit 1; }
	$(PY) -m tests.bench.dashboard $(BENCH_ARGS)

# The app as production runs it, loaded on loopback for 60 s by 50 simulated tablets plus desk and
# dashboard users (BENCH_ARGS="--seconds 120 --tablets 20"); its own database logbook_load, made anew.
bench-load: system-packages-test $(VENV)/.test
	@scripts/postgres-up || { echo "bench-load needs PostgreSQL on 127.0.0.1:5432" >&2; exit 1; }
	$(PY) -m tests.bench.load $(BENCH_ARGS)

# The operator's journey from the QR label to a sent report, timed in Chromium on throttled Wi-Fi against the
# production recipe: taps and seconds.
bench-journey: system-packages-test $(VENV)/.test
	@scripts/postgres-up || { echo "bench-journey needs PostgreSQL on 127.0.0.1:5432" >&2; exit 1; }
	$(PY) -m tests.bench.journey $(BENCH_ARGS)

# Machine-down notifications against the production recipe (its own database logbook_notify, made anew):
# 200 reports over the API with no channel, then with e-mail (a local SMTP server), a signed webhook and a
# dead one; time to arrival, reports with and without, what the dead endpoint cost. BENCH_ARGS="--control
# --refused" adds a phase without the dead endpoint and one where it refuses connections instead of hanging.
bench-notify: $(VENV)/.test
	@scripts/postgres-up || { echo "bench-notify needs PostgreSQL on 127.0.0.1:5432" >&2; exit 1; }
	$(PY) -m tests.bench.notify $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache
