# chainrule: `make demo` and `make test` work on a brand-new machine.
#
#   make demo   .venv with the product only (numpy, graphviz, matplotlib, tqdm, scikit-learn,
#               Optuna) and the Graphviz program, then the main job
#   make test   the same plus the test tools (pyproject's `test` extra: PyTorch, Playwright,
#               hypothesis, ...) and the test-only programs (Chromium, PostgreSQL), then the suite
#   make bench  the test set-up plus the benchmark peer (micrograd), then the benchmarks
#
# Each level has its own stamp in .venv, so `make demo` then `make test` installs the test
# extra on top; editing pyproject.toml makes every level install again.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= out
PIP := $(BIN)/python -m pip install --quiet

.PHONY: demo test lint bench system-deps system-deps-demo system-deps-test clean

# The main job: train an MLP 2-16-16-1 on two-moons, write its files into $(OUT)/.
demo: $(VENV)/.installed-demo system-deps-demo
	$(BIN)/chainrule train --dataset moons --hidden 16,16 --epochs 60 --out $(OUT)

test: $(VENV)/.installed-test system-deps-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# The scalar engine against micrograd and PyTorch, then the tape against PyTorch (the demo
# step, then an MLP epoch on the digits); each script times its peers side by side.
bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/tape.py
	$(BIN)/python benchmarks/digits.py

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "chainrule needs Python 3.10 or later")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	touch $@

# A test venv holds everything the demo needs: its stamp counts for the demo too.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[test]'
	touch $@ $(VENV)/.installed-demo

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[test,bench]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-demo

# The Graphviz `dot` program renders graphs (the demo needs it); Chromium drives the
# browser tests and PostgreSQL serves the distributed-search test (tests only).
system-deps-demo:
	@bash tools/system-deps.sh demo

system-deps-test system-deps:
	@bash tools/system-deps.sh test

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
