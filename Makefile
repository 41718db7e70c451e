# `make demo` and `make test` work from a fresh clone with only Python 3.11+ present.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCALES := bot/i18n/locales

.PHONY: demo test lint install translations db clean catalogs

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -d $(LOCALES) -D messages --statistics

db: translations
	$(BIN)/voisins db upgrade

demo: db
	$(BIN)/voisins demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

test: translations lint
	$(BIN)/voisins db upgrade --url sqlite:///$(CURDIR)/.venv/smoke.db
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto

clean:
	rm -rf $(VENV) voisins.db voisins.db-* $(LOCALES)/*/LC_MESSAGES/*.mo

# After changing user-facing strings: extract them and update every catalog.
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k gettext -k ngettext:1,2 --no-location --sort-output \
	  --project=voisins --version=0.1 --width 100 -o $(LOCALES)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages --width 100 --no-fuzzy-matching \
	  --ignore-obsolete
	$(BIN)/python -m bot.i18n.catalogs
