# `make demo` and `make test` work from a fresh clone with only Python 3.11+ present.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install translations db clean catalogs

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -d locales -D messages --statistics

db: translations
	$(BIN)/voisins db upgrade

demo: db
	$(BIN)/voisins demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .

test: translations lint
	$(BIN)/voisins db upgrade --url sqlite:///$(CURDIR)/.venv/smoke.db
	$(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) voisins.db voisins.db-* locales/*/LC_MESSAGES/*.mo

# After changing user-facing strings: extract them and update every catalog.
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k gettext -k ngettext:1,2 --no-location --sort-output \
	  --project=voisins --version=0.1 -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching \
	  --ignore-obsolete
	$(BIN)/python -m bot.i18n.catalogs
