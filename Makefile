# Every target creates .venv and installs the kit (pinned by requirements/constraints.txt) on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test bench lint regen clean

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[test]'
	touch $@

lab: $(STAMP)        ## the sandbox in the background, JupyterLab on notebooks/
	$(BIN)/c2c lab

test: $(STAMP)       ## lint, then every test (unit, sandbox, notebooks)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)      ## benchmarks: prints a Markdown table, writes benchmarks/results/latest.json
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
