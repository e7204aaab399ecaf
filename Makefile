# The two commands of the README: `make estimate` (the main job) and `make test` (mypy, then the whole suite).
PROFILE ?= profiles/pretrain-1b-72h.yaml

.PHONY: setup estimate test bench docs

setup:
	@./scripts/setup

estimate: setup
	.venv/bin/gpuplan estimate $(PROFILE)

# the suite on every core: -n auto starts a worker per core, --dist loadfile keeps each test file (and its module
# fixtures) in one worker; session fixtures and caches are per worker (tests/conftest.py)
# Python's bytecode cache on whatever the shell sets (a sandbox's PYTHONDONTWRITEBYTECODE=1): without it every
# process the suite starts compiles what it imports from source, and the first torch optimizer (torch._dynamo)
# took 8.3 s against 1.9 s from the cache, torch 6.4 s against 3.4 s; it lands in .venv and the checkout's
# __pycache__, both git-ignored (scripts/setup compiles most of it once beforehand: scripts/compile_imports.py).
# A fresh clone's pytest: 356.6 -> 304.5 -> 218.7 s (docs/internals.md 'The test suite's time')
test: setup
	env -u PYTHONDONTWRITEBYTECODE .venv/bin/python -m mypy
	env -u PYTHONDONTWRITEBYTECODE .venv/bin/python -m pytest -n auto --dist loadfile

bench: setup
	.venv/bin/python benchmarks/bench_estimate.py

docs: setup
	.venv/bin/python scripts/docs_outputs.py
	.venv/bin/mkdocs build --strict
