# Two commands for a newcomer: `make demo` and `make test`. Both create the environment first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: setup demo test lint bench serve clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

demo: setup
	@mkdir -p var
	$(PY) -m b24goods demo

# Lint first: ruff (rules in pyproject.toml) and mypy, over the code and its tests.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy b24goods activities functions sandbox infra bench tests main.py

test: lint
	$(PY) -m pytest

bench: setup
	$(PY) -m bench

serve: setup
	$(PY) -m b24goods serve

clean:
	rm -rf $(VENV) var .pytest_cache tests/artifacts
