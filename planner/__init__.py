"""gpuplan: a GPU cost and capacity planner for training and serving."""

__version__ = "0.1.0"
