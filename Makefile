# The two set-up commands of the README: `make demo` and `make test`.
# Both install what they need from this repository's own files first: the exact versions of
# requirements-dev.lock (hashes checked), then the project itself without dependencies.
PYTHON ?= python3
VENV := .venv
PIP := $(VENV)/bin/pip --quiet --disable-pip-version-check
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-dev.lock | sha1sum | cut -c1-12)
# One resolution for Linux, macOS and Windows from Python 3.11 on; the dev lock keeps every
# version the runtime lock has, so tests run on what the image runs.
COMPILE := $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' pyproject.toml

.PHONY: demo test lint lock install system-packages bench bench-smoke

$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes -r requirements-dev.lock
	$(PIP) install --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

system-packages:
	bash deploy/install-system-packages.sh

demo: $(STAMP)
	$(VENV)/bin/loket demo

# Style and likely bugs (ruff), types (mypy), and the README's package table (import-linter);
# all three are configured in pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

# The code is checked first, then the suite twice: with the events in SQLite (the default),
# then as production runs, the events and the key store each in a PostgreSQL database of its own,
# with a role of its own, on a server the tests start (tests/event_store.py); then every
# benchmark once, small (bench-smoke). Tests of the `store` fixture also run the events in
# PostgreSQL beside a key store file in the first pass: an installation not yet moved.
test: lint system-packages
	$(VENV)/bin/pytest
	LOKET_TEST_EVENT_STORE=postgresql LOKET_TEST_KEYSTORE=postgresql $(VENV)/bin/pytest
	$(MAKE) bench-smoke

# After a change to the dependencies in pyproject.toml: versions already locked are kept where
# they still fit (`--upgrade` in UV_ARGS moves them all to the newest that fit).
lock: $(STAMP)
	$(COMPILE) $(UV_ARGS) -o requirements.lock
	$(COMPILE) $(UV_ARGS) --extra test --extra lint -c requirements.lock -o requirements-dev.lock

bench: $(STAMP)
	for b in routing privacy intake catchup growth asof api kafka burst; do $(VENV)/bin/python bench/$$b.py || exit 1; done

# Every benchmark, small and writing nothing: that none of them breaks or drifts from the code
# unnoticed. `make test` runs it after the suites; a minute or two on two cores.
bench-smoke: $(STAMP)
	$(VENV)/bin/python bench/routing.py --meldingen 1000 --rounds 1 --no-write
	$(VENV)/bin/python bench/privacy.py --meldingen 500 --rounds 1 --no-write
	$(VENV)/bin/python bench/intake.py --meldingen 300 --rounds 1 --no-write
	$(VENV)/bin/python bench/catchup.py --meldingen 500 --rounds 1 --no-write
	$(VENV)/bin/python bench/asof.py --sizes 1000,3000 --rounds 1 --reads 1 --no-write
	$(VENV)/bin/python bench/growth.py --sizes 1000,3000 --probe 500 --rounds 1 --no-write
	$(VENV)/bin/python bench/api.py --meldingen 30 --rounds 1 --no-write
	$(VENV)/bin/python bench/kafka.py --meldingen 200 --rounds 1 --no-write
	$(VENV)/bin/python bench/burst.py --meldingen 300 --burst 8 --no-write
	$(VENV)/bin/python bench/achterstand.py --requests 100 --rounds 1
