"""Input: safe YAML with source positions, human units, what-if overrides, profiles, measurement records."""
