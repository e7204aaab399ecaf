"""JSON Schema of the file formats, for editors: `# yaml-language-server: $schema=…` gives completion and checks."""
from __future__ import annotations

import json

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""pydantic 2 emits JSON Schema draft 2020-12."""


def json_schema(name: str) -> str:
    """The JSON Schema of `profile` (project profiles) or `offers` (catalog/offers/*.yaml), as pretty JSON."""
    if name == "profile":
        from planner.schema.profile import Profile as model
    elif name == "offers":
        from planner.schema.catalog import ProviderOffers as model
    else:
        raise ValueError(f"unknown schema {name!r}")
    document = {"$schema": SCHEMA_DIALECT, **model.model_json_schema()}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
