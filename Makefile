# The two commands of the README: `make estimate` (the main job) and `make test` (mypy, then the whole suite).
PROFILE ?= profiles/pretrain-1b-72h.yaml

.PHONY: setup estimate test bench docs

setup:
	@./scripts/setup

estimate: setup
	.venv/bin/gpuplan estimate $(PROFILE)

# the suite on every core: -n auto starts a worker per core, --dist loadfile keeps each test file (and its module
# fixtures) in one worker; session fixtures and caches are per worker (tests/conftest.py)
test: setup
	.venv/bin/python -m mypy
	.venv/bin/python -m pytest -n auto --dist loadfile

bench: setup
	.venv/bin/python benchmarks/bench_estimate.py

docs: setup
	.venv/bin/python scripts/docs_outputs.py
	.venv/bin/mkdocs build --strict
