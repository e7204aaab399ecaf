"""The `gpuplan` command: one module per command group; parses, calls the library, prints."""
import gc

from planner.plans.collector import GC_THRESHOLD

# the command's imports make tens of thousands of objects (modules, classes, validators) that all live to the end:
# at Python's default threshold the cyclic collector rescans them ~60 times before the command starts (~13 ms of a
# cold `gpuplan estimate`); run() keeps the same threshold for the command (plans/collector.py)
if gc.get_threshold()[0] < GC_THRESHOLD:
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
