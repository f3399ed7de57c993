# The two set-up commands of the README: `make demo` and `make test`.
# Both install what they need from this repository's own files first.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: demo test install system-packages bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

system-packages:
	bash deploy/install-system-packages.sh

demo: $(STAMP)
	$(VENV)/bin/loket demo

# The suite twice: with the events in SQLite (the default), then in PostgreSQL, the production
# event store, on a server the tests start (tests/event_store.py).
test: $(STAMP) system-packages
	$(VENV)/bin/pytest
	LOKET_TEST_EVENT_STORE=postgresql $(VENV)/bin/pytest

bench: $(STAMP)
	for b in bench/*.py; do $(VENV)/bin/python $$b || exit 1; done
