# harness: the two commands of the quickstart are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Where the real datasets live (ETT, Multi30k, Flickr8k); see ../shared/data/README.md.
DATA_DIR ?= ../shared/data

.PHONY: setup demo test bench check-postgres clean

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

## test: the whole suite in TEST_WORKERS processes, one file per process (the PostgreSQL tests need the server on
## 127.0.0.1:5432; see check-postgres). TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
test: setup check-postgres
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

## check-postgres: say whether PostgreSQL answers on 127.0.0.1:5432, and how to start it if not
check-postgres: setup
	@$(BIN)/python -c "import psycopg; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres', connect_timeout=3).close()" \
	  2>/dev/null && echo "PostgreSQL is up on 127.0.0.1:5432" || \
	  echo "PostgreSQL is not running on 127.0.0.1:5432: its tests will be skipped. Start it with:" \
	       "pg_ctlcluster --skip-systemctl-redirect \$$(ls /etc/postgresql) main start"

## bench: every benchmark in benchmarks/, appending numbers and the machine to benchmarks/RESULTS.md (about 2 hours on 2 cores)
bench: setup
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/attention_kernels.py
	$(BIN)/python benchmarks/overhead.py --profile
	$(BIN)/python benchmarks/throughput.py
	test -d ../wt-old || git worktree add ../wt-old beb94b7
	$(BIN)/python benchmarks/padding.py --data-dir $(DATA_DIR) --earlier ../wt-old
	$(BIN)/python benchmarks/padding.py --data-dir $(DATA_DIR) --earlier ../wt-old --validation
	$(BIN)/python benchmarks/batching.py --data-dir $(DATA_DIR) --out benchmarks/batching.jsonl && $(BIN)/python benchmarks/batching.py --out benchmarks/batching.jsonl --summarise
	$(BIN)/python benchmarks/workers.py
	$(BIN)/python benchmarks/shared_machine.py
	$(BIN)/python benchmarks/data_memory.py --data-dir $(DATA_DIR)
	$(BIN)/python benchmarks/memory.py --data-dir $(DATA_DIR)
	$(BIN)/python benchmarks/frozen_encoder.py --data-dir $(DATA_DIR)
	$(BIN)/python benchmarks/storage.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/search_efficiency.py --data-dir $(DATA_DIR)

clean:
	rm -rf $(VENV) build *.egg-info
