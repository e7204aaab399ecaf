"""planner/render/jsontext.py writes exactly what json.dumps(value, indent=2) writes, or refuses what it refuses."""
import enum
import json
import math
import random

import pytest

from planner.render.jsontext import dumps_indented

_TEXTS = ["", "a", 'quote " and \\ backslash', "tab\tnew\nline\r", "\x00\x1f\x7f", "é × … 中文", "\U0001f600",
          "\ud800 lone surrogate", "</script>", "1e5", "null"]
_NUMBERS = [0, -1, 2**70, -(2**64), 0.0, -0.0, 1.5, 1e300, 5e-324, 1 / 3, math.inf, -math.inf, math.nan, 123456789.0]


def _document(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(9 if depth < 5 else 5)
    if kind == 0:
        return rng.choice(_TEXTS) + str(rng.randrange(100))
    if kind == 1:
        return rng.choice(_NUMBERS)
    if kind == 2:
        return rng.choice([None, True, False])
    if kind == 3:
        return rng.uniform(-1e6, 1e6)
    if kind == 4:
        return rng.randrange(-10**6, 10**6)
    if kind in (5, 6):
        return {rng.choice(_TEXTS) + str(i): _document(rng, depth + 1) for i in range(rng.randrange(4))}
    if kind == 7:
        return [_document(rng, depth + 1) for _ in range(rng.randrange(4))]
    return tuple(_document(rng, depth + 1) for _ in range(rng.randrange(3)))


@pytest.mark.parametrize("seed", range(200))
def test_random_documents_as_json_writes_them(seed):
    document = _document(random.Random(seed))
    assert dumps_indented(document) == json.dumps(document, indent=2)


class Colour(str, enum.Enum):
    red = "red"


class Level(enum.IntEnum):
    high = 3


class Share(float):
    pass


@pytest.mark.parametrize("document", [
    {1: "an int key", 2.5: "a float key", True: "a bool key", None: "a null key"},
    {"format": Colour.red, "level": Level.high, "share": Share(0.25)},
    [{"nested": [Colour.red, (Level.high, Share(1e300))]}],
    {},
    [],
    "",
])
def test_keys_and_subclasses_json_converts_are_written_as_json_writes_them(document):
    assert dumps_indented(document) == json.dumps(document, indent=2)


def test_what_json_refuses_is_refused_alike():
    with pytest.raises(TypeError):
        dumps_indented({"when": object()})
    looped: list[object] = []
    looped.append(looped)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_indented({"loop": looped})


def test_an_example_estimate_as_json_writes_it():
    import planner

    from .conftest import ROOT

    catalog = planner.load_catalog()
    result = planner.plan(planner.load_profile(ROOT / "profiles" / "serve-7b-chat.yaml", catalog), catalog)
    document = result.to_dict()
    assert result.to_json() == json.dumps(document, indent=2)
