"""gpuplan: a GPU cost and capacity planner for training and serving.

    import planner
    catalog = planner.load_catalog()
    profile = planner.load_profile("profiles/pretrain-1b-72h.yaml", catalog)
    result = planner.plan(profile, catalog, confidence=0.9)
    result.to_dict()        # the `gpuplan estimate --format json` document
    # bad input raises planner.PlannerError, its message naming file, line and field

The names are loaded on first use, so `import planner.profiler` (torch only) does not load the planning core.
"""
TYPE_CHECKING = False  # not typing's: the console script imports this package first (planner/__main__.py)
if TYPE_CHECKING:
    from typing import Any

    from planner.api import PlanResult, load_catalog, load_profile, plan
    from planner.errors import PlannerError

__version__ = "0.1.0"
__all__ = ["PlanResult", "PlannerError", "load_catalog", "load_profile", "plan"]


def __getattr__(name: str) -> "Any":
    if name == "PlannerError":
        # what every bad input of the three raises (docs/errors.md): a notebook's `except planner.PlannerError`
        # read "module 'planner' has no attribute 'PlannerError'" (new-user QA round 16)
        from planner.errors import PlannerError

        return PlannerError
    if name in __all__:
        from planner import api

        return getattr(api, name)
    raise AttributeError(f"module 'planner' has no attribute {name!r}")
