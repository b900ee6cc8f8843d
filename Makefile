# chainrule: `make demo` and `make test` work on a brand-new machine.
# They create .venv, install the project with its test and benchmark extras,
# install the Graphviz program (and Chromium for the browser tests) where we can.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo test lint bench system-deps clean

# The main job: train an MLP 2-16-16-1 on two-moons, write its files into $(OUT)/.
demo: $(STAMP) system-deps
	$(BIN)/chainrule train --dataset moons --hidden 16,16 --epochs 60 --out $(OUT)

test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "chainrule needs Python 3.10 or later")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

# The Graphviz `dot` program renders graphs; Chromium drives the stepper's browser tests.
system-deps:
	@bash tools/system-deps.sh

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
