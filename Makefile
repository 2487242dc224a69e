# Two commands for a fresh clone:
#   make run   set up, migrate, make a demo app and an admin login, serve on 127.0.0.1:$(PORT)
#   make test  set up and run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
SDK_VENV := .venv-sdk
JS_E2E := tests/e2e/js
PORT ?= 8000
PYTEST_ARGS ?=

CHROMIUM := /usr/bin/chromium
# A font with Chinese characters, so that the admin's screenshots show the texts they test.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc

.PHONY: run test install js browser clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The official LeanCloud Python SDK pins old Werkzeug/requests: it lives in a virtualenv of its own.
$(SDK_VENV)/.installed: requirements-sdk.txt
	$(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sdk.txt
	touch $@

# The official JS SDK (leancloud-storage) and LeanEngine (leanengine), exactly as locked, for tests/e2e.
$(JS_E2E)/node_modules/.installed: $(JS_E2E)/package.json $(JS_E2E)/package-lock.json
	cd $(JS_E2E) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The browser tests drive Debian's chromium with Playwright (no browser download: it cannot reach this machine).
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

$(CJK_FONT):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei

install: $(VENV)/.installed

js: $(JS_E2E)/node_modules/.installed

browser: $(CHROMIUM) $(CJK_FONT)

# A laptop's demo: DEBUG on (unless DEBUG says otherwise) for every step, the demo's admin/admin login included.
run: install
	DEBUG=$${DEBUG:-true} $(VENV)/bin/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(VENV)/bin/python manage.py bootstrap_demo
	@echo "SMS go to the console below and to $${SMS_CONSOLE_OUTBOX:-outbox.jsonl}; admin at http://127.0.0.1:$(PORT)/admin/"
	DEBUG=$${DEBUG:-true} SMS_CONSOLE_OUTBOX=$${SMS_CONSOLE_OUTBOX:-$(CURDIR)/outbox.jsonl} \
		$(VENV)/bin/python manage.py runserver 127.0.0.1:$(PORT)

test: install $(SDK_VENV)/.installed js browser
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(SDK_VENV) $(JS_E2E)/node_modules .test-db.sqlite3*
