"""What-if overrides: `--set training.epochs=3 --set constraints.gpus=[A100-80GB-SXM]` applied to a profile's YAML
before it is validated, so an override is checked exactly like the file itself."""
from __future__ import annotations

import copy
from dataclasses import replace

from planner.errors import InputError, override, override_example
from planner.io.yamlfile import YamlDocument, parse_yaml


def parse_override(text: str) -> tuple[tuple[str, ...], object]:
    """'a.b.c=VALUE' → (('a', 'b', 'c'), VALUE parsed as YAML: 3, 72h, [A100-80GB-SXM], true, {tokens: 2B})."""
    key, sep, raw = text.partition("=")
    path = tuple(part.strip() for part in key.split("."))
    if not sep or not all(path):
        # placed like the other --set errors ("--set KEY=VALUE: …"): the option is named once, as their place
        raise InputError("expected KEY.PATH=VALUE", file=override(text),
                         hint=f"For example {override_example('training.epochs=3', 'constraints.gpus=[A100-80GB-SXM]')}.")
    if not raw.strip():
        # new-user QA: `--set training.deadline=` (a shell variable left unset) silently removed the deadline and the
        # plan went on without it: removing a key takes the word null
        raise InputError("no value after '='", file=override(text), field=".".join(path),
                         hint=f"Give a value, or null to remove the key: {override_example('.'.join(path) + '=null')}.")
    try:
        value = parse_yaml(raw, override(key)).data
    except InputError as exc:
        if "\n" not in raw:
            # placed like the profile's own errors of an override ("--set KEY=VALUE: key.path: …"), not at line 1,
            # column 1 of a one-line value ("--set training.epochs:1:1: yes is a YAML 1.1 boolean", new-user QA
            # round 18)
            exc.file, exc.line, exc.column = override(text), None, None
            exc.field = ".".join(path + ((exc.field,) if exc.field else ()))
        raise
    return path, value


def apply_overrides(doc: YamlDocument, overrides: list[str]) -> YamlDocument:
    """A copy of the document with each override set (missing mappings are created; null removes a key)."""
    if not overrides:
        return doc
    if not isinstance(doc.data, dict):
        raise InputError(f"cannot apply {override(overrides[0])}: the profile is not a YAML mapping", file=doc.file,
                         line=1)
    data = copy.deepcopy(doc.data)
    placed = dict(doc.overrides)
    for text in overrides:
        path, value = parse_override(text)
        node: object = data
        keys: list[str | int] = []  # the path with list items as their indices, as validation errors name them
        for depth, part in enumerate(path[:-1]):
            if isinstance(node, list):
                key: str | int = _index(text, doc, path, depth, node)
                child = node[int(key)]
            else:
                assert isinstance(node, dict)
                key = part
                child = node.get(part)
                if child is None:
                    where = ".".join(path[:depth + 1])
                    if path[depth + 1].isdigit():
                        # new-user QA round 12: `--set constraints.gpus.0=H100-SXM` on a profile without the list
                        # made a mapping {'0': …}, refused as "constraints.gpus: Input should be a valid list"
                        raise InputError(f"{where} is not in the profile, so it has no item {path[depth + 1]} to "
                                         "set", file=override(text),
                                         hint=f"Give the whole list: {override_example(where + '=[…]')}.")
                    child = node[part] = {}
            keys.append(key)
            if not isinstance(child, (dict, list)):
                # new-user QA round 12: 'training.epochs.0=3' read "training.epochs is not a mapping"
                where = ".".join(path[:depth + 1])
                raise InputError(f"{override(text)}: {where} is a single value ({child!r}), with nothing under it "
                                 f"to set", file=doc.file, line=doc.where(tuple(keys))[0], field=".".join(path),
                                 hint=f"Set it whole: {override_example(where + '=…')}.")
            node = child
        last: str | int
        if isinstance(node, list):
            index = last = _index(text, doc, path, len(path) - 1, node)
            if value is None:
                node.pop(index)
            else:
                node[index] = value
        else:
            assert isinstance(node, dict)
            last = path[-1]
            if value is None:
                node.pop(last, None)
            else:
                node[last] = value
        placed[tuple(keys) + (last,)] = text
    return replace(doc, data=data, overrides=placed)


def _index(text: str, doc: YamlDocument, path: tuple[str, ...], depth: int, items: list[object]) -> int:
    """The list item `path[depth]` names under `path[:depth]` (0-based, as the list's YAML order), or an
    InputError placed at the list (new-user QA: `--set constraints.owned.0.count=4` said 'constraints.owned is not a
    mapping')."""
    part, where = path[depth], ".".join(path[:depth])
    if part.isdigit() and int(part) < len(items):
        return int(part)
    raise InputError(f"{override(text)}: {where} is a list of {len(items)} item{'' if len(items) == 1 else 's'}; "
                     f"{part!r} is not one of its indices (0 to {len(items) - 1})" if items else
                     f"{override(text)}: {where} is an empty list",
                     file=doc.file, line=doc.where(tuple(path[:depth]))[0], field=".".join(path),
                     hint=f"Give the whole list: {override_example(where + '=[…]')}.")
