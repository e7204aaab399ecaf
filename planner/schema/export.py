"""JSON Schema of the file formats, for editors: `# yaml-language-server: $schema=…` gives completion and checks."""
from __future__ import annotations

import json

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""pydantic 2 emits JSON Schema draft 2020-12."""


def json_schema(name: str) -> str:
    """The JSON Schema of `profile` (project profiles) or `offers` (catalog/offers/*.yaml), as pretty JSON."""
    from planner.schema.catalog import ProviderOffers
    from planner.schema.profile import Profile

    model: type[Profile] | type[ProviderOffers]
    if name == "profile":
        model = Profile
    elif name == "offers":
        model = ProviderOffers
    else:
        raise ValueError(f"unknown schema {name!r}")
    document = {"$schema": SCHEMA_DIALECT, **model.model_json_schema()}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
