# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test test-fast browser-deps oidc-deps ocr-deps lint migrate demo bench bench-cook-stall bench-postgres messages clean detector-corpus bench-detectors bench-attachments bench-nginx

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(STAMP)
	$(BIN)/forum migrate
	$(BIN)/forum demo --if-empty
	$(BIN)/forum serve

migrate: $(STAMP)
	$(BIN)/forum migrate

demo: $(STAMP)
	$(BIN)/forum demo

test: $(TEST_STAMP) browser-deps oidc-deps ocr-deps
	$(BIN)/python -m pytest

# Chromium (apt), Java and the npm checkers (axe-core, vnu-jar) for tests/browser; installs only what is missing.
browser-deps:
	sh tests/browser/install.sh

# Debian's tesseract-ocr with Norwegian and English data: the OCR of uploaded images (tests/ocr/install.sh).
ocr-deps:
	sh tests/ocr/install.sh

# Node and the pinned npm oidc-provider: the real OpenID provider tests/test_oidc.py starts (tests/oidc/install.sh).
oidc-deps:
	sh tests/oidc/install.sh

test-fast: $(TEST_STAMP) oidc-deps ocr-deps
	$(BIN)/python -m pytest -m "not slow"

# Issue 7's benchmark: seeds (cached in bench/.cache), serves, loads with wrk (apt-get installs it when missing),
# prints the table and writes bench/results/. Not part of `make test`. Smoke run: make bench BENCH_ARGS=--quick
bench: $(TEST_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Issue 18: can one account's previews stall another member's replies? (bench/cook_stall.py)
bench-cook-stall: $(TEST_STAMP)
	$(BIN)/python -m bench.cook_stall $(BENCH_ARGS)

# The same cases on PostgreSQL beside SQLite (issue 9); BENCH_DATABASE_URL names a scratch database it empties.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/forum_bench
bench-postgres: $(TEST_STAMP)
	$(BIN)/python -m bench.postgres --database-url $(BENCH_DATABASE_URL) $(BENCH_ARGS)

# Issue 19: the personal-data detectors against a generated corpus (fixed seed, python-stdnum as oracle): recall per
# identifier format, share held per kind of accounting text. Exit code 1 when a target is missed.
detector-corpus: $(TEST_STAMP)
	$(BIN)/python -m tests.detector_corpus $(CORPUS_ARGS)

# Issue 19: scan time of 50 KB and 200 KB posts (goals 10 ms and 60 ms), best of 20 runs.
bench-detectors: $(TEST_STAMP)
	$(BIN)/python -m bench.detectors $(BENCH_ARGS)

# Issue 22: an 8-megapixel photo re-encoded at upload (goal under 1 s), OCR pictures per second per worker, and the
# bytes' storage (SQLite BLOB, a file, PostgreSQL bytea with BENCH_ARGS="--database-url ...").
bench-attachments: $(TEST_STAMP) ocr-deps
	$(BIN)/python -m bench.attachments $(BENCH_ARGS)

# Issue 20: the deployment guide's nginx microcache in front of the forum (apt-get installs nginx when missing)
bench-nginx: $(TEST_STAMP)
	$(BIN)/python -m bench.nginx $(BENCH_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check forum moderation tests bench

messages: $(TEST_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -o forum/messages.pot --no-location --omit-header .
	$(BIN)/pybabel update -i forum/messages.pot -d forum/locale --no-fuzzy-matching --omit-header

clean:
	rm -rf $(VENV) .pytest_cache
