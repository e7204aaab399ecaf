"""The package layout: no import cycles between planner's modules, function-local imports included."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Cycles that existed when the layout moved to subpackages; each is being broken. This list may only shrink.
KNOWN_CYCLES: list[set[str]] = [
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _planner_targets(node: ast.AST, modules: dict[str, Path]) -> set[str]:
    """The planner modules an import statement names (`from planner.x import y` names x.y when y is a module, else
    x)."""
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("planner"):
        targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                   for a in node.names]
    elif isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
    else:
        return set()
    return {t for t in targets if t in modules}


def import_graph() -> dict[str, set[str]]:
    """Module → the planner modules it imports anywhere in its body (`from planner.x import y` counts x.y when
    y is a module)."""
    modules = {_module_name(p): p for p in (ROOT / "planner").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            # a package's __init__ re-exports are not dependencies of the importing module's siblings
            edges |= {t for t in _planner_targets(node, modules) if t != name and modules[t].name != "__init__.py"}
        graph[name] = edges
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the components with more than one module are the cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_no_new_import_cycles():
    cycles = strongly_connected(import_graph())
    assert [c for c in cycles if c not in KNOWN_CYCLES] == []


def test_known_cycles_still_exist():
    """Remove a broken cycle from KNOWN_CYCLES so the list only shrinks."""
    cycles = strongly_connected(import_graph())
    assert [c for c in KNOWN_CYCLES if c not in cycles] == []


def test_cycle_finder_finds_a_cycle():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


FOLDERS = ("planner", "docs", "catalog", "benchmarks", "tests", "scripts", "profiles", "schemas")
SUBPACKAGES = tuple(p.parent.name for p in (ROOT / "planner").glob("*/__init__.py"))
REFERENCE = re.compile(r"(?<![\w/.'\"`-])((?:" + "|".join(FOLDERS + SUBPACKAGES) + r")/[\w/.-]*\w\.(?:py|md|yaml|json))")
"""A file named in planner's comments and docstrings: from the repository's root ('docs/internals.md',
'catalog/gpus.yaml') or from planner/ ('model/nccl.py'); not one quoted as a user's input or an error's text."""


def test_files_named_in_planners_comments_exist():
    # issue 12 item 6: references in comments point to files that exist in the repository; one renamed or removed
    # (a 'catalog/networks.yaml' that never was, 2026-12-03) fails here
    missing = []
    for path in sorted((ROOT / "planner").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in REFERENCE.findall(line):
                if not (ROOT / name).exists() and not (ROOT / "planner" / name).exists():
                    missing.append(f"{path.relative_to(ROOT)}:{number}: {name}")
    assert not missing, "\n".join(missing)
    assert REFERENCE.findall("see model/nccl.py and docs/internals.md") == ["model/nccl.py", "docs/internals.md"]


def test_decide_never_imports_render():
    # issue 12 item 5 (new-user QA round 25): decide/diff.py imported render's console, report and escape modules while
    # render/decision.py imports decide.choices, a package-level cycle against the README's one-way flow (decide →
    # render); the diff's tables and documents are render/diff.py's
    graph = import_graph()
    back = sorted(f"{m} → {t}" for m, targets in graph.items() if m.startswith("planner.decide")
                  for t in targets if t.startswith("planner.render"))
    assert not back, back


FLOW = ("errors", "readable", "dataclass", "schema", "io", "catalog", "model", "project", "efficiency", "plans",
        "decide", "render", "validate", "profiler", "api", "cli", "__main__")
"""planner's packages (and modules beside them) in the order of the flow: each may import only those before it."""


def _package(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def test_packages_import_only_those_before_them_in_the_flow():
    # issue 12 item 5: efficiency/train_fit.py imported plans, io/profile.py and io/records.py imported catalog and
    # model (2026-12-04: they are validate/train_fit.py, project/load.py and efficiency/records.py)
    graph = import_graph()
    packages = {_package(m) for m in graph} - {"planner"}
    assert packages == set(FLOW), f"place {sorted(packages - set(FLOW))} in FLOW; gone: {sorted(set(FLOW) - packages)}"
    back = sorted(f"{m} → {t}" for m, targets in graph.items() if m != "planner" for t in targets
                  if _package(t) != _package(m) and FLOW.index(_package(t)) > FLOW.index(_package(m)))
    assert not back, "\n".join(back)


def test_the_maps_list_the_packages_in_the_flows_order():
    folders = [name for name in FLOW if (ROOT / "planner" / name / "__init__.py").is_file()]
    for doc in ("README.md", "docs/internals.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert re.findall(r"^\| `planner/(\w+)/` \|", text, re.MULTILINE) == folders, doc


def _run_at_import(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements a module runs when imported: all but function bodies and `if TYPE_CHECKING:` branches."""
    found: list[ast.stmt] = []
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            found += _run_at_import(node.orelse)
            continue
        found.append(node)
        for field in ("body", "orelse", "finalbody", "handlers"):
            found += _run_at_import([s for s in getattr(node, field, []) if isinstance(s, ast.stmt)])
    return found


def redundant_local_imports() -> list[str]:
    """Function-local imports of planner's own modules that defer nothing: the module is already imported, directly
    or through others, by the importing module's own top-level imports."""
    modules = {_module_name(p): p for p in (ROOT / "planner").rglob("*.py")}
    trees = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in modules.items()}
    top = {name: set().union(*(_planner_targets(n, modules) for n in _run_at_import(tree.body)))
           for name, tree in trees.items()}

    def loaded(name: str) -> set[str]:
        seen: set[str] = set()
        todo = [name]
        while todo:
            for target in top.get(todo.pop(), ()):
                parts = target.split(".")
                for module in [".".join(parts[:i]) for i in range(1, len(parts))] + [target]:
                    if module in modules and module not in seen:
                        seen.add(module)
                        todo.append(module)
        return seen

    found = []
    for name, tree in trees.items():
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if isinstance(node, ast.ImportFrom) and node.module != "planner" and \
                            _planner_targets(node, modules) & loaded(name):
                        found.append(f"{modules[name].relative_to(ROOT)}:{node.lineno}: {node.module}")
    return found


def test_function_local_imports_of_planners_modules_defer_something():
    # issue 12 item 5: function-local imports only where they keep something from being imported (an optional heavy
    # dependency, or what a plain estimate does not need at start-up); 67 of 166 deferred nothing (2026-12-04)
    assert redundant_local_imports() == []


def test_a_redundant_local_import_is_found(tmp_path, monkeypatch):
    package = tmp_path / "planner"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("X = 1\n")
    (package / "b.py").write_text("from planner.a import X\n\n\ndef f():\n    from planner.a import X\n    return X\n")
    (package / "c.py").write_text("def f():\n    from planner.a import X\n    return X\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert redundant_local_imports() == ["planner/b.py:5: planner.a"]


def test_each_command_group_has_its_module():
    # issue 12 item 5: 'planner/cli (one module per command group, one error handler)': every command of a group is
    # defined in that group's module, the top-level commands in cli/commands.py, none anywhere else
    from typer.main import get_group

    from planner.cli.commands import app

    group = get_group(app)
    homes = {"": "planner.cli.commands", "catalog": "planner.cli.catalog_commands",
             "calibration": "planner.cli.calibration_commands"}
    found = {}
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        for sub, leaf in (subcommands.items() if subcommands else [("", command)]):
            found[f"{name} {sub}".strip()] = (name if subcommands else "", leaf.callback.__module__)
    assert found and all(module == homes[key] for key, module in found.values()), found
    assert set(homes) == {key for key, _ in found.values()}
