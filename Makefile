# Ribat — two commands: `make run` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
export RIBAT_DATABASE_URL ?= sqlite:///./ribat.db
# The demo flags indicators that hit these (CC0) MISP warninglists; set your own directory in production.
export RIBAT_WARNINGLISTS_DIR ?= src/ribat/cli/demo_data/warninglists

.PHONY: run test bench lint format setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@# The UI tests drive Debian's Chromium through Playwright (never a downloaded browser).
	if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ribat demo --url http://$(HOST):$(PORT)
	$(BIN)/ribat serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m pytest -m slow -p no:xdist
	$(BIN)/python -m bench
	$(BIN)/python -m bench.bench_misp
	$(BIN)/python -m bench.bench_correlation
	$(BIN)/python -m bench.bench_exports
	$(BIN)/python -m bench.bench_hunt
	$(BIN)/python -m bench.bench_federation

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) ribat.db ribat.db-wal ribat.db-shm .pytest_cache .mypy_cache .ruff_cache
