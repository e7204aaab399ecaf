"""Pydantic models for everything the planner reads: profiles, catalog entries, records."""
