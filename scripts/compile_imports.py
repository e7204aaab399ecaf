"""Byte-compile what gpuplan and its test suite import, once, at set-up (scripts/setup): import each module with
Python's bytecode cache on, so the cache lands in .venv and the checkout's __pycache__ (both git-ignored).

Why: setup installs with pip's --no-compile (byte-compiling every installed module, torch's and sympy's thousands
that nothing imports, took 43 s of 2 cores), and a sandbox may set PYTHONDONTWRITEBYTECODE=1. Without a cache the
suite's first process on each core compiled the same modules from source side by side: a fresh clone's pytest took
303 s, 260 s after this ran (its own ~30 s once, on one core). A module missing from this list is only compiled on
first use, as before; one that fails to import is skipped (an optional extra not installed). Run with HOME in a
temporary folder (scripts/setup): importing sky writes ~/.sky, and matplotlib its font cache."""
from __future__ import annotations

import importlib
import pkgutil
import sys

THIRD_PARTY = (
    "numpy", "scipy.stats", "scipy.optimize", "scipy.sparse", "pydantic", "yaml", "typer", "typer.testing",
    "rich.console", "rich.table",
    # the profiler's: torch._dynamo is what the first torch optimizer imports (8 s to compile)
    "torch", "torch.optim", "torch._dynamo", "torch.utils.benchmark", "torch.utils.flop_counter", "torch.profiler",
    "torch.distributed", "torch.multiprocessing",
    "matplotlib.pyplot",  # --plot
    "gpuhunt",  # catalog refresh --from gpuhunt
    "sky",  # the tests load emitted SkyPilot tasks with SkyPilot's own loader
    "hypothesis", "pytest", "xdist", "jsonschema", "mkdocs.commands.build",
)


def main() -> int:
    if sys.flags.dont_write_bytecode:
        print("compile_imports: PYTHONDONTWRITEBYTECODE is set; nothing would be kept", file=sys.stderr)
        return 1
    for name in THIRD_PARTY:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an extra not installed: compiled on first use, if ever
            pass
    import planner

    for module in pkgutil.walk_packages(planner.__path__, "planner."):
        importlib.import_module(module.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
