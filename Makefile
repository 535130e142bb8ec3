# Every target works on a fresh clone: `install` makes .venv and is idempotent.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-faults check bench screenshots dist clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/supportd serve

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not faults" tests

# Faults injected on purpose (tests/faults): PostgreSQL cut under load, a full disk (a
# small tmpfs: needs root), slow and idle clients. .ci/run runs it after `make test`.
test-faults: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -m faults tests

check: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/bandit -q -r src -ll -c pyproject.toml
	.ci/audit-dependencies $(BIN)

bench: install
	$(BIN)/python bench/run.py

# A PNG of every Support Center and staff console page, with demo data, in screenshots/
# (git-ignored).
screenshots: install
	$(BIN)/python scripts/screenshots.py
	$(BIN)/python -m tests.web.screenshots_console

# The sdist and the wheel, in dist/ (`pip install dist/supportd-*.whl`: docs/testing.md).
dist: install
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache build dist src/*.egg-info
