# harness: the two commands of the quickstart are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test clean

## setup: create .venv and install the CPU build of PyTorch, then the project with its dev extra
setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	@# Chromium for the dashboard's browser test: Debian's package where apt is available and we are root.
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null) || \
	  echo "note: chromium not installed (no apt or not root); the browser test will be skipped"; }
	touch $(STAMP)

## demo: run the quickstart study on embedded data and write reports/quickstart.md
demo: setup
	$(BIN)/harness run-study studies/quickstart.toml
	$(BIN)/harness report quickstart

## test: the whole suite
test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
