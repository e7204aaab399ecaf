"""The profiler: the only package that imports torch. Reference models, timing, FLOP counting, memory,
device microbenchmarks and communication, all returning plain data for a measurement record."""
