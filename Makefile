# The two commands of the README: `make estimate` (the main job) and `make test` (mypy, then the whole suite).
PROFILE ?= profiles/pretrain-1b-72h.yaml

.PHONY: setup estimate test bench docs

setup:
	@./scripts/setup

estimate: setup
	.venv/bin/gpuplan estimate $(PROFILE)

test: setup
	.venv/bin/python -m mypy
	.venv/bin/python -m pytest

bench: setup
	.venv/bin/python benchmarks/bench_estimate.py

docs: setup
	.venv/bin/python scripts/docs_outputs.py
	.venv/bin/mkdocs build --strict
