# Two commands do all set-up: `make run` serves the demo clinic, `make test` runs everything.
VENV ?= .venv
PYTHON ?= python3
FLASK = FLASK_DEBUG=1 $(VENV)/bin/flask --app booking

.PHONY: run test fuzz bench install clean translations

$(VENV)/installed.stamp: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# Patient pages' translations: the .po files are the source (edited by people), the .mo files
# are built from them here and never committed.
CATALOGS = $(wildcard booking/translations/*/LC_MESSAGES/messages.po)
booking/translations/%/LC_MESSAGES/messages.mo: booking/translations/%/LC_MESSAGES/messages.po $(VENV)/installed.stamp
	$(VENV)/bin/pybabel compile --statistics -d booking/translations -l $* 2>&1 | grep -v "^compiling"; test -f $@

install: $(VENV)/installed.stamp $(CATALOGS:.po=.mo)

# After changing words on patient pages: collect them into messages.pot and the .po files,
# then translate what `make translations` reports as untranslated (the tests refuse any).
translations: install
	$(VENV)/bin/pybabel extract --no-location --sort-by-file --width=100 -F babel.cfg -k _l -o booking/translations/messages.pot booking templates
	$(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete --width=100 -i booking/translations/messages.pot -d booking/translations
	$(MAKE) install

# `make run PORT=5057` serves on another port; the emails' links follow it (BASE_URL) unless set.
PORT ?= 5000
run: export BASE_URL ?= http://127.0.0.1:$(PORT)
run: install
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	@echo "Serving the demo clinic on http://127.0.0.1:$(PORT), with an email sender beside it (Ctrl+C stops both)"
	$(FLASK) outbox send --loop & sender=$$!; trap 'kill $$sender 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# One pytest worker per core (pytest-xdist), each with its own throwaway PostgreSQL and browser;
# a test file stays in one worker, so its module-wide servers start once. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= auto
test: install
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile

# The property-based tests with many more generated examples than `make test` runs (minutes, not seconds).
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(VENV)/bin/pytest -m hypothesis -p no:cacheprovider

# The speed measurement of the README's "Speed" section; DB=postgresql runs it on a throwaway server.
DB ?= sqlite
bench: install
	$(VENV)/bin/python -m tests.bench --db $(DB)

clean:
	rm -rf $(VENV) instance .pytest_cache
