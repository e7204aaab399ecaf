"""Input: safe YAML with source positions, human units, what-if overrides, digests and atomic writes."""
