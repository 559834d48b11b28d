# Casework: `make run` serves the app with demo data; `make test` runs the checks and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: run test lint format translations extract-messages clean bench help

help:
	@echo "make run    - install, migrate, load reference and demo data, serve on http://127.0.0.1:$(PORT)"
	@echo "make test   - install dev tools, ruff check, bandit (medium+), the whole test suite (PostgreSQL too with TEST_DATABASE_URL)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d casework/translations 2>&1 | grep -v "^$$" | tail -n 3

extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		-o casework/translations/messages.pot casework
	$(BIN)/pybabel update -i casework/translations/messages.pot -d casework/translations --no-fuzzy-matching

run: $(VENV)/.installed translations
	$(BIN)/casework setup --demo
	$(BIN)/casework run --host 127.0.0.1 --port $(PORT)

test: $(VENV)/.installed-dev translations
	$(BIN)/ruff check .
	$(BIN)/bandit -q -r casework -ll
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
