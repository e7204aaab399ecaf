"""Accuracy: published runs planned through the same code as `estimate`, and the training curves fitted to them."""
