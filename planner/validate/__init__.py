"""Accuracy: published runs planned through the same code as `estimate`."""
